#include "migclock/agent/local_api.hpp"

#include <grp.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "migclock/agent/sync_json.hpp"
#include "migclock/net/json.hpp"
#include "migclock/net/problem.hpp"
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

ApiResponse error_response(const net::Problem& p) {
  // net/'s table is the one mapping from errors to status codes, shared
  // with the controller.
  const net::Response r = net::to_response(p);
  return ApiResponse{static_cast<int>(r.status), r.content_type, r.body};
}

ApiResponse error_response(const Error& e) { return error_response(net::problem_from(e)); }

namespace {

ApiResponse json_ok(net::JsonWriter& j, int status = 200) { return ApiResponse{status, "application/json", j.str()}; }

// The hook's strings: libvirt's names are short; anything near this is hostile.
constexpr std::size_t kMaxHookField = 4096;

std::string query_param(const std::string& target, const std::string& key) {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  size_t pos = q + 1;
  while (pos < target.size()) {
    auto amp = target.find('&', pos);
    if (amp == std::string::npos) amp = target.size();
    const std::string kv = target.substr(pos, amp - pos);
    const auto eq = kv.find('=');
    if (eq != std::string::npos && kv.substr(0, eq) == key) return kv.substr(eq + 1);
    pos = amp + 1;
  }
  return {};
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

ApiResponse LocalApi::handle(const ApiRequest& req) {
  const std::string path = req.target.substr(0, req.target.find('?'));
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  if (path == "/healthz" && get) return ApiResponse{200, "text/plain", "ok\n"};
  if (path == "/readyz" && get) {
    return agent_.libvirt_connected() ? ApiResponse{200, "text/plain", "ready\n"}
                                      : ApiResponse{503, "text/plain", "libvirt not connected\n"};
  }
  if (path == "/metrics" && get) return ApiResponse{200, "text/plain; version=0.0.4", agent_.metrics().render()};
  if (path == "/api/v1/host" && get) {
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
    return json_ok(j);
  }
  if (path == "/api/v1/vms" && get) {
    net::JsonWriter j;
    j.begin_array();
    for (const auto& r : agent_.domains()) write_domain(j, r);
    j.end_array();
    return json_ok(j);
  }
  const std::string vms_prefix = "/api/v1/vms/";
  if (post && path.rfind(vms_prefix, 0) == 0) {
    const std::string rest = path.substr(vms_prefix.size());
    const auto slash = rest.find('/');
    const std::string id = rest.substr(0, slash);
    const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (action == "capture") {
      auto rep = agent_.capture(id, "on-request");
      if (!rep) return error_response(rep.error());
      auto json = serialization::encode(rep->snapshot, serialization::Format::json);
      if (!json) return error_response(json.error());
      return ApiResponse{200, "application/json", *json};
    }
    if (action == "sync") {
      auto st = agent_.request_sync(id, "on request");
      if (!st) return error_response(st.error());
      net::JsonWriter j;
      j.begin_object();
      j.key("scheduled").value(true);
      j.end_object();
      return json_ok(j, 202);
    }
  }
  if (post && path == "/api/v1/hook/events") {
    // net::parse_object: nesting capped before parsing (a local peer's
    // 200,000 '[' once overflowed the stack), UTF-8 and duplicate keys refused.
    auto d = net::parse_object(req.body);
    if (!d) return error_response(d.problem());
    HookEvent ev;
    int64_t sent_at_ns = 0;
    net::FieldReader r(*d);
    r.string("object", ev.object, false, kMaxHookField).string("name", ev.name, false, kMaxHookField)
        .string("op", ev.op, true, kMaxHookField).string("sub_op", ev.sub_op, false, kMaxHookField)
        .string("extra", ev.extra, false, kMaxHookField).string("uuid", ev.uuid, false, kMaxHookField)
        .int64("sent_at_ns", sent_at_ns, false);
    if (!r.ok()) return error_response(*r.problem());
    ev.sent_at_ns = sent_at_ns;
    if (ev.op.empty()) return error_response(make_error(errc::invalid_argument, "op: required"));
    agent_.record_hook_event(ev);
    net::JsonWriter j;
    j.begin_object();
    j.key("recorded").value(true);
    j.end_object();
    return json_ok(j);
  }
  if (post && path == "/api/v1/hook/migrate-begin") {
    auto d = net::parse_object(req.body);
    if (!d) return error_response(d.problem());
    std::string name, xml;
    net::FieldReader fr(*d);
    fr.string("name", name, false, kMaxHookField).string("xml", xml, true, req.body.size());
    if (!fr.ok()) return error_response(*fr.problem());
    if (xml.empty()) return error_response(make_error(errc::invalid_argument, "xml: required"));
    const auto r = agent_.migrate_begin(name, xml);
    net::JsonWriter j;
    j.begin_object();
    j.key("action").value(to_string(r.decision.action));
    j.key("message").value(r.decision.message);
    j.key("warning").value(r.decision.warning);
    j.key("policy").value(to_string(r.inputs.policy));
    j.key("host_tsc_khz").value(static_cast<int64_t>(r.inputs.host_khz));
    j.key("source_tsc_khz");
    if (r.inputs.source_khz) j.value(static_cast<int64_t>(*r.inputs.source_khz)); else j.null();
    j.key("frequency_hz").value(static_cast<int64_t>(r.decision.frequency_hz));
    j.key("xml").value(r.xml);
    j.end_object();
    return json_ok(j);
  }
  if (post && path == "/api/v1/vmm/snapshots") {
    auto s = serialization::decode(req.body, serialization::Format::json);
    if (!s) return error_response(s.error());
    auto stored = agent_.accept_vmm_snapshot(*s);
    if (!stored) return error_response(stored.error());
    net::JsonWriter j;
    j.begin_object();
    j.key("stored").value(*stored);
    j.end_object();
    return json_ok(j, 201);
  }
  if (get && path == "/api/v1/vmm/restore-inputs") {
    auto r = agent_.restore_inputs(query_param(req.target, "vm"));
    if (!r) return error_response(r.error());
    auto snap = serialization::encode(r->snapshot, serialization::Format::json);
    if (!snap) return error_response(snap.error());
    net::JsonWriter j;
    j.begin_object();
    j.key("snapshot");
    j.raw(*snap);
    j.key("realtime_offset_ns").value(r->realtime_offset_ns);
    j.key("uncertainty_ns").value(r->uncertainty_ns);
    j.key("evidence").value(r->evidence);
    j.end_object();
    return json_ok(j);
  }
  return error_response(make_error(errc::not_found, req.method + " " + path + ": no such resource"));
}

}  // namespace migclock::agent
