#include "migclock/agent/controller_link.hpp"

#include <climits>
#include <functional>
#include <fstream>

#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"
#include "migclock/net/request.hpp"
#include "migclock/serialization/enum_names.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::agent {

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(errc::io_error, "controller token file " + path + ": cannot open");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return make_error(errc::invalid_argument, "controller token file " + path + ": empty");
  return line;
}

namespace {

// The sync's target in a results object (additive: the controller merges
// fields it does not know): where the guest was meant to end, ± how sure.
void write_target(net::JsonWriter& w, const SyncOutcome& o) {
  w.key("target").begin_object();
  w.key("mode").value(o.target_mode);
  w.key("offset_ns").value(o.target_offset_ns);
  w.key("uncertainty_ns").value(o.target_uncertainty_ns);
  w.key("source").value(o.target_source);
  w.end_object();
}

}  // namespace

ControllerLink::ControllerLink(ControllerSettings s) : s_(std::move(s)) {
  net::ClientOptions o(s_.url, s_.ca_file, s_.token);
  o.timeout = std::chrono::milliseconds(10'000);
  client_ = std::make_unique<net::Client>(o);
}

ControllerLink::~ControllerLink() = default;

Result<std::string> ControllerLink::request_ok(const std::string& method, const std::string& target,
                                               const std::string& body, const std::string& content_type) {
  auto r = client_->request(method, target, body, content_type);
  MIGCLOCK_TRY(r);
  if (r->status >= 200 && r->status < 300) return r->body;
  const errc code = r->status == 409 ? errc::conflict : r->status == 404 ? errc::not_found
                    : r->status >= 500                 ? errc::unavailable
                                                       : errc::invalid_argument;
  return make_error(code, method + " " + target + ": HTTP " + std::to_string(r->status) + " " + r->body);
}

Status ControllerLink::register_host(const HostProfile& host, const std::vector<DomainRecord>& vms) {
  net::JsonWriter w;
  w.begin_object();
  w.key("hostname").value(s_.hostname);
  w.key("boot_id").value(host.facts.boot_id);
  w.key("agent_version").value(std::string(MIGCLOCK_VERSION));
  w.key("tsc_khz").value(static_cast<int64_t>(host.facts.tsc_khz));
  w.key("scaling_supported").value(host.facts.scaling_supported);
  w.key("clocksource").value(host.facts.clocksource);
  w.key("offset_honoured").value(serialization::enum_label(host.facts.offset_honoured));
  w.key("tsc_khz_source").value(serialization::enum_label(host.facts.tsc_khz_source));
  w.key("kvm").value(serialization::enum_label(host.facts.kvm));
  w.key("masterclock_possible").value(host.masterclock_possible);
  w.key("vms").begin_array();
  for (const auto& v : vms) {
    w.begin_object().key("uuid").value(v.uuid).key("name").value(v.name).key("state").value(v.state).end_object();
  }
  w.end_array();
  w.end_object();
  auto r = request_ok("PUT", "/api/v1/hosts/" + net::percent_encode(s_.hostname), w.str());
  MIGCLOCK_TRY(r);
  return {};
}

Result<int64_t> ControllerLink::measure_clock_offset(const TimeSource& time, int samples) {
  int64_t best_rtt = INT64_MAX, best_theta = 0, best_t4 = 0;
  int taken = 0;
  for (int i = 0; i < samples; ++i) {
    const int64_t t1 = time.realtime_ns();
    net::JsonWriter w;
    w.begin_object().key("t1_ns").value(t1).end_object();
    auto reply = request_ok("POST", "/api/v1/time", w.str());
    const int64_t t4 = time.realtime_ns();
    MIGCLOCK_TRY(reply);
    auto doc = net::parse_object(*reply);
    if (!doc.ok() || !doc->HasMember("t2_ns") || !doc->HasMember("t3_ns") || !(*doc)["t2_ns"].IsInt64() ||
        !(*doc)["t3_ns"].IsInt64())
      return make_error(errc::malformed_input, "POST /api/v1/time: " + *reply);
    const int64_t t2 = (*doc)["t2_ns"].GetInt64(), t3 = (*doc)["t3_ns"].GetInt64();
    const int64_t rtt = (t4 - t1) - (t3 - t2);
    ++taken;
    if (rtt >= 0 && rtt < best_rtt) {
      best_rtt = rtt;
      best_theta = ((t2 - t1) + (t3 - t4)) / 2;
      best_t4 = t4;
    }
  }
  if (best_rtt == INT64_MAX) return make_error(errc::unavailable, "clock offset: no usable sample");
  net::JsonWriter w;
  w.begin_object();
  w.key("offset_ns").value(best_theta).key("uncertainty_ns").value(best_rtt / 2).key("rtt_ns").value(best_rtt);
  w.key("samples").value(taken).key("measured_at_ns").value(best_t4);
  w.end_object();
  auto r = request_ok("POST", "/api/v1/hosts/" + net::percent_encode(s_.hostname) + "/clock-offset", w.str());
  MIGCLOCK_TRY(r);
  return best_theta;
}

Result<std::string> ControllerLink::ship(const OutboxItem& item, const snapshot::Snapshot& s) {
  net::JsonWriter w;
  w.begin_object();
  w.key("vm_uuid").value(s.vm.uuid.empty() ? s.vm.name : s.vm.uuid);
  w.key("vm_name").value(s.vm.name);
  w.key("source").value(s_.hostname);
  w.key("kind").value(std::string(item.kind == "save-restore" || item.kind == "suspend-resume" ? item.kind : "live"));
  w.end_object();
  auto created = request_ok("POST", "/api/v1/migrations", w.str());
  MIGCLOCK_TRY(created);
  auto doc = net::parse_object(*created);
  if (!doc.ok() || !doc->HasMember("id") || !(*doc)["id"].IsString())
    return make_error(errc::malformed_input, "POST /api/v1/migrations: no id in " + *created);
  const std::string id = (*doc)["id"].GetString();
  auto bytes = serialization::encode(s, serialization::Format::binary);
  MIGCLOCK_TRY(bytes);
  auto put = request_ok("PUT", "/api/v1/migrations/" + net::percent_encode(id) + "/snapshot", *bytes,
                        "application/vnd.migclock.snapshot");
  // 409: a different snapshot is already there (an earlier attempt of ours
  // that crossed a capture): the controller keeps the first; ours is done.
  if (!put && put.error().code != make_error_code(errc::conflict)) return put.error();
  return id;
}

Result<std::vector<ControllerCommand>> ControllerLink::poll_commands(int wait_s) {
  client_->set_timeout(std::chrono::milliseconds((wait_s + 10) * 1000));
  auto body = request_ok("GET", "/api/v1/hosts/" + net::percent_encode(s_.hostname) + "/commands?wait_s=" +
                                    std::to_string(wait_s), "");
  client_->set_timeout(std::chrono::milliseconds(10'000));
  MIGCLOCK_TRY(body);
  auto doc = net::parse_any(*body);
  if (!doc.ok() || !doc->IsArray()) return make_error(errc::malformed_input, "commands: not a JSON array");
  std::vector<ControllerCommand> out;
  for (const auto& c : doc->GetArray()) {
    ControllerCommand cmd;
    net::FieldReader r(c);
    r.string("id", cmd.id).string("kind", cmd.kind).string("vm_uuid", cmd.vm_uuid).string("vm_name", cmd.vm_name, false);
    if (!r.ok()) return make_error(errc::malformed_input, "commands: " + r.problem()->message);
    out.push_back(std::move(cmd));
  }
  return out;
}

Status ControllerLink::report_command(const std::string& id, bool ok, const std::string& message,
                                      const SyncOutcome* o) {
  net::JsonWriter w;
  w.begin_object().key("ok").value(ok).key("message").value(message);
  if (o) {
    w.key("results").begin_object();
    w.key("policy").value(to_string(o->policy));
    w.key("guest_offset_before_ns").optional(o->offset_before_ns);
    w.key("guest_offset_after_ns").optional(o->offset_after_ns);
    w.key("sync_rtt_ns").value(o->rtt_ns).key("sync_spread_ns").value(o->spread_ns);
    write_target(w, *o);
    w.end_object();
  }
  w.end_object();
  auto r = request_ok("POST", "/api/v1/hosts/" + net::percent_encode(s_.hostname) + "/commands/" +
                                  net::percent_encode(id) + "/result",
                      w.str());
  MIGCLOCK_TRY(r);
  return {};
}

Result<std::string> ControllerLink::active_migration(const std::string& uuid, const std::string& name,
                                                     const std::string& kind) {
  auto list = request_ok("GET", "/api/v1/migrations?vm=" + net::percent_encode(uuid) + "&active=true", "");
  MIGCLOCK_TRY(list);
  auto doc = net::parse_any(*list);
  if (!doc.ok()) return make_error(errc::malformed_input, "GET /api/v1/migrations: not JSON");
  // {"items": [...], "total": N, "next_offset": …}
  const rapidjson::Value* arr = doc->IsObject() && doc->HasMember("items") ? &(*doc)["items"] : nullptr;
  if (!arr || !arr->IsArray() || arr->Empty())
    return make_error(errc::not_found, "no active migration of " + name + " (" + uuid + ") at the controller");
  // Newest first: the newest active migration of that kind.
  for (rapidjson::SizeType i = arr->Size(); i-- > 0;) {
    const auto& m = (*arr)[i];
    if (!m.IsObject() || !m.HasMember("id") || !m["id"].IsString())
      return make_error(errc::malformed_input, "migration without id");
    if (kind.empty() || (m.HasMember("kind") && m["kind"].IsString() && kind == m["kind"].GetString()))
      return std::string(m["id"].GetString());
  }
  return make_error(errc::not_found, "no active " + kind + " migration of " + name + " (" + uuid + ") at the controller");
}

Result<ControllerRestoreInputs> ControllerLink::restore_inputs(const std::string& vm_id) {
  auto id = active_migration(vm_id, vm_id, "live");
  MIGCLOCK_TRY(id);
  const std::string target = "/api/v1/migrations/" + net::percent_encode(*id) +
                             "/restore-inputs?destination=" + net::percent_encode(s_.hostname);
  auto body = request_ok("GET", target, "");
  MIGCLOCK_TRY(body);
  auto doc = net::parse_object(*body, 64);
  if (!doc.ok()) return make_error(errc::malformed_input, "GET " + target + ": " + doc.problem().message);
  ControllerRestoreInputs in;
  in.migration_id = *id;
  const rapidjson::Value* snap = nullptr;
  net::FieldReader r(*doc);
  r.object("snapshot", snap, true)
      .string("source", in.source)
      .int64("realtime_offset_ns", in.realtime_offset_ns)
      .int64("uncertainty_ns", in.uncertainty_ns)
      .int64("measured_at_ns", in.measured_at_ns);
  if (!r.ok()) return make_error(errc::malformed_input, "GET " + target + ": " + r.problem()->message);
  net::JsonWriter w;
  w.value(*snap);
  auto decoded = serialization::decode(w.str(), serialization::Format::json);
  MIGCLOCK_TRY(decoded);
  in.snapshot = std::move(*decoded);
  return in;
}

namespace {

// One phase event body (protocol §3); `results` fills the results object.
std::string event_body(const std::string& phase, const std::string& host, int64_t at_ns, const std::string& reason,
                       const std::function<void(net::JsonWriter&)>& results) {
  net::JsonWriter w;
  w.begin_object();
  w.key("phase").value(phase);
  w.key("host").value(host);
  w.key("at_ns").value(at_ns);
  if (!reason.empty()) w.key("reason").value(reason);
  if (results) {
    w.key("results").begin_object();
    results(w);
    w.end_object();
  }
  w.end_object();
  return w.str();
}

}  // namespace

Status ControllerLink::report_sync(const std::string& uuid, const std::string& name, const SyncOutcome& o,
                                   int64_t now_ns, bool wait_for_snapshot) {
  // Only a live migration's destination sync closes it.
  auto id = active_migration(uuid, name, "live");
  MIGCLOCK_TRY(id);
  const std::string base = "/api/v1/migrations/" + net::percent_encode(*id);
  const std::string events = base + "/events";
  // The hand-off as the record should show it. Asking for the restore
  // inputs records this host as the destination (the first to ask becomes
  // it) and is the snapshot reaching it: `shipped`. A libvirt/QEMU VM's TSC
  // and kvmclock were restored by QEMU, by value, from its migration
  // stream, so migclock reports no `destination-restored` for it. Both are
  // informational: one refused (no snapshot, no measured host offset yet,
  // or an earlier phase on a retry) does not stop the sync's own report.
  if (auto inputs = request_ok("GET", base + "/restore-inputs?destination=" + net::percent_encode(s_.hostname), "")) {
    auto shipped = request_ok("POST", events, event_body("shipped", s_.hostname, now_ns, "", [](net::JsonWriter& w) {
                                w.key("restore").value("by value: QEMU's migration stream (libvirt/QEMU VM)");
                              }));
    if (!shipped && shipped.error().code != make_error_code(errc::conflict)) return shipped.error();
  } else if (inputs.error().code == make_error_code(errc::unavailable)) {
    return inputs.error();
  } else if (wait_for_snapshot) {
    return make_error(errc::unavailable, "source's hand-off not at the controller yet: " + inputs.error().message());
  }
  auto resumed = request_ok("POST", events, event_body("resumed", s_.hostname, o.started_realtime_ns, "", {}));
  if (!resumed && resumed.error().code != make_error_code(errc::conflict)) return resumed.error();

  const auto sync_results = [&o](net::JsonWriter& w) {
    if (o.offset_before_ns) w.key("guest_offset_before_ns").value(*o.offset_before_ns);
    if (o.offset_after_ns) w.key("guest_offset_after_ns").value(*o.offset_after_ns);
    w.key("sync_rtt_ns").value(o.rtt_ns);
    w.key("sync_spread_ns").value(o.spread_ns);
    write_target(w, o);
  };
  if (!o.ok) {
    const std::string why = o.policy == SyncPolicy::off ? o.message : "sync failed: " + o.message;
    auto r = request_ok("POST", events, event_body("degraded", s_.hostname, now_ns, why, sync_results));
    MIGCLOCK_TRY(r);
    return {};
  }
  auto synced = request_ok("POST", events, event_body("synced", s_.hostname, now_ns, "", sync_results));
  MIGCLOCK_TRY(synced);
  // The verdict closes the migration, so the VM's next migration gets a
  // record of its own. It is what the sync's final measurement can show
  // (sync_verdict.hpp): `verified` only within the threshold and with an
  // uncertainty within the limit, else `degraded` with the numbers.
  const bool verified = o.verdict == SyncVerdict::verified;
  auto closed = request_ok(
      "POST", events,
      event_body(verified ? "verified" : "degraded", s_.hostname, now_ns, verified ? "" : o.verdict_reason,
                 [&o](net::JsonWriter& w) {
                   w.key("verification").begin_object();
                   w.key("method").value(o.channel == "companion"
                                             ? "guest companion time queries NTP-style, lowest-RTT samples (the correcting channel)"
                                             : "guest-get-time NTP-style, lowest-RTT samples (the correcting channel)");
                   w.key("channel").value(o.channel);
                   w.key("verdict").value(to_string(o.verdict));
                   w.key("residual_ns").optional(o.residual_ns());  // relative to the target
                   w.key("uncertainty_ns").value(o.uncertainty_ns());  // measurement + target
                   w.key("statistical_ns").value(o.statistical_ns);
                   w.key("spread_ns").value(o.spread_ns);
                   w.key("rtt_ns").value(o.rtt_ns);
                   w.key("residual_threshold_ns").value(o.residual_threshold_ns);
                   w.key("uncertainty_limit_ns").value(o.uncertainty_limit_ns);
                   w.key("reason").value(o.verdict_reason);
                   w.end_object();
                 }));
  MIGCLOCK_TRY(closed);
  return {};
}

}  // namespace migclock::agent
