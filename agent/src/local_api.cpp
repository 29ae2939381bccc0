#include "migclock/agent/local_api.hpp"

#include <grp.h>
#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "migclock/agent/sync_json.hpp"
#include "migclock/net/json.hpp"
#include "migclock/net/problem.hpp"
#include "migclock/protocol/local_messages.hpp"
#include "migclock/serialization/enum_names.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::agent {

namespace {
// The supplementary groups the peer process has now ("Groups:" of
// /proc/PID/status), not those /etc/group lists for its user: a process may
// have dropped a group (or been given one) since its user logged in.
// nullopt when the process is gone or unreadable.
std::optional<std::vector<gid_t>> process_groups(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream ids(line.substr(7));
    std::vector<gid_t> out;
    for (unsigned long g; ids >> g;) out.push_back(static_cast<gid_t>(g));
    return out;
  }
  return std::nullopt;
}
}  // namespace

bool peer_allowed(const PeerCred& peer, const std::string& group, uid_t self_uid) {
  if (peer.uid == 0 || peer.uid == self_uid) return true;
  if (group.empty()) return false;
  struct group* g = ::getgrnam(group.c_str());
  if (!g) return false;
  if (peer.gid == g->gr_gid) return true;
  // Supplementary groups: SO_PEERCRED carries only the primary gid.
  const auto groups = process_groups(peer.pid);
  return groups && std::find(groups->begin(), groups->end(), g->gr_gid) != groups->end();
}

namespace {

using net::Params;
using net::Request;
using net::Response;

Response problem_response(const net::Problem& p) { return net::to_response(p); }
Response error_of(const Error& e) { return net::to_response(net::problem_from(e)); }

template <class T>
Response json_ok(const T& message, unsigned status = 200) {
  return Response::json(status, protocol::encode(message));
}

void write_domain(net::JsonWriter& j, const DomainRecord& r) {
  j.begin_object();
  j.key("uuid").value(r.uuid);
  j.key("name").value(r.name);
  j.key("state").value(r.state);
  j.key("qemu_pid").value(r.qemu_pid);
  j.key("debugfs_dirs");
  j.begin_array();
  for (const auto& d : r.debugfs_dirs) j.value(d);
  j.end_array();
  j.key("vcpus").value(static_cast<int>(r.vcpus));
  j.key("clock_xml").value(r.clock_xml);
  j.key("agent_connected");
  if (r.agent_connected) j.value(*r.agent_connected); else j.null();
  j.key("last_event").value(r.last_event);
  j.key("last_event_ns").value(r.last_event_realtime_ns);
  j.key("last_sync");
  if (r.last_sync) write_sync(j, *r.last_sync); else j.null();
  j.key("last_capture_ns").value(r.last_capture_realtime_ns);
  j.key("last_capture_file").value(r.last_capture_file);
  j.end_object();
}

}  // namespace

ApiResponse error_response(const net::Problem& p) {
  // net/'s table is the one mapping from errors to status codes, shared
  // with the controller.
  const net::Response r = net::to_response(p);
  return ApiResponse{static_cast<int>(r.status), r.content_type, r.body};
}

ApiResponse error_response(const Error& e) { return error_response(net::problem_from(e)); }

LocalApi::LocalApi(Agent& agent) : agent_(agent) {
  const auto route = [this](const char* method, const char* pattern, Response (LocalApi::*h)(const Request&, const Params&)) {
    router_.add_sync(method, pattern, 0, [this, h](const Request& r, const Params& p) { return (this->*h)(r, p); });
  };
  route("GET", "/healthz", &LocalApi::healthz);
  route("GET", "/readyz", &LocalApi::readyz);
  route("GET", "/metrics", &LocalApi::metrics);
  route("GET", "/api/v1/host", &LocalApi::host);
  route("GET", "/api/v1/vms", &LocalApi::vms);
  route("POST", "/api/v1/vms/{id}/capture", &LocalApi::capture);
  route("POST", "/api/v1/vms/{id}/sync", &LocalApi::sync);
  route("POST", protocol::kHookEventsPath, &LocalApi::hook_event);
  route("POST", protocol::kMigrateBeginPath, &LocalApi::migrate_begin);
  route("POST", protocol::kVmmSnapshotsPath, &LocalApi::vmm_snapshot);
  route("GET", protocol::kVmmRestoreInputsPath, &LocalApi::vmm_restore_inputs);
}

ApiResponse LocalApi::handle(const ApiRequest& in) {
  Request req;
  req.method = in.method;
  req.target = in.target;
  req.body = in.body;
  if (!net::split_target(in.target, req.path, req.query))
    return error_response(net::problem(net::ApiErrc::bad_request, "bad percent escape in " + in.target));
  auto m = router_.match(req.method, req.path);
  if (!m.route) return error_response(m.problem);
  // Every local handler answers at once (add_sync): the sink has run when
  // the handler returns.
  Response out = Response::json(500, "{}");
  m.handler(req, m.params, net::Responder([&out](Response r) { out = std::move(r); }));
  return ApiResponse{static_cast<int>(out.status), out.content_type, std::move(out.body)};
}

Response LocalApi::healthz(const Request&, const Params&) { return Response::text(200, "ok\n", "text/plain"); }

Response LocalApi::readyz(const Request&, const Params&) {
  return agent_.libvirt_connected() ? Response::text(200, "ready\n", "text/plain")
                                    : Response::text(503, "libvirt not connected\n", "text/plain");
}

Response LocalApi::metrics(const Request&, const Params&) {
  return Response::text(200, agent_.metrics().render(), "text/plain; version=0.0.4");
}

Response LocalApi::host(const Request&, const Params&) {
  const auto& h = agent_.host();
  net::JsonWriter j;
  j.begin_object();
  j.key("hostname").value(h.facts.hostname);
  j.key("boot_id").value(h.facts.boot_id);
  j.key("tsc_khz").value(static_cast<int64_t>(h.facts.tsc_khz));
  j.key("clocksource").value(h.facts.clocksource);
  j.key("scaling_supported").value(h.facts.scaling_supported);
  j.key("tsc_khz_source").value(serialization::enum_label(h.facts.tsc_khz_source));
  j.key("tsc_khz_detail").value(h.tsc_khz_detail);
  j.key("offset_honoured").value(serialization::enum_label(h.facts.offset_honoured));
  j.key("masterclock_possible").value(h.masterclock_possible);
  j.key("kvm").value(serialization::enum_label(h.facts.kvm));
  j.key("kvm_reason").value(h.kvm_reason);
  j.key("libvirt_connected").value(agent_.libvirt_connected());
  j.end_object();
  return Response::json(200, j.str());
}

Response LocalApi::vms(const Request&, const Params&) {
  net::JsonWriter j;
  j.begin_array();
  for (const auto& r : agent_.domains()) write_domain(j, r);
  j.end_array();
  return Response::json(200, j.str());
}

Response LocalApi::capture(const Request&, const Params& p) {
  auto rep = agent_.capture(p.at("id"), "on-request");
  if (!rep) return error_of(rep.error());
  auto json = serialization::encode(rep->snapshot, serialization::Format::json);
  if (!json) return error_of(json.error());
  return Response::json(200, std::move(*json));
}

Response LocalApi::sync(const Request&, const Params& p) {
  auto st = agent_.request_sync(p.at("id"), SyncCause::on_request());
  if (!st) return error_of(st.error());
  return json_ok(protocol::SyncScheduled{}, 202);
}

Response LocalApi::hook_event(const Request& req, const Params&) {
  // protocol::decode: nesting capped before parsing (a local peer's
  // 200,000 '[' once overflowed the stack), UTF-8 and duplicate keys refused.
  auto ev = protocol::decode<HookEvent>(req.body);
  if (!ev) return problem_response(ev.problem());
  agent_.record_hook_event(*ev);
  return json_ok(protocol::HookEventRecorded{});
}

Response LocalApi::migrate_begin(const Request& req, const Params&) {
  auto in = protocol::decode<protocol::MigrateBeginRequest>(req.body);
  if (!in) return problem_response(in.problem());
  const auto r = agent_.migrate_begin(in->name, in->xml);
  protocol::MigrateBeginReply reply;
  reply.action = to_string(r.decision.action);
  reply.message = r.decision.message;
  reply.warning = r.decision.warning;
  reply.policy = to_string(r.inputs.policy);
  reply.host_tsc_khz = r.inputs.host_khz;
  if (r.inputs.source_khz) reply.source_tsc_khz = *r.inputs.source_khz;
  reply.frequency_hz = static_cast<int64_t>(r.decision.frequency_hz);
  reply.xml = r.xml;
  return json_ok(reply);
}

Response LocalApi::vmm_snapshot(const Request& req, const Params&) {
  auto s = serialization::decode(req.body, serialization::Format::json);
  if (!s) return error_of(s.error());
  auto stored = agent_.accept_vmm_snapshot(*s);
  if (!stored) return error_of(stored.error());
  return json_ok(protocol::VmmSnapshotStored{*stored}, 201);
}

Response LocalApi::vmm_restore_inputs(const Request& req, const Params&) {
  auto r = agent_.restore_inputs(req.query_or("vm"));
  if (!r) return error_of(r.error());
  auto snap = serialization::encode(r->snapshot, serialization::Format::json);
  if (!snap) return error_of(snap.error());
  return json_ok(protocol::VmmRestoreInputs{std::move(*snap), r->realtime_offset_ns, r->uncertainty_ns, r->evidence});
}

}  // namespace migclock::agent
