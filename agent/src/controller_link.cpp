#include "migclock/agent/controller_link.hpp"

#include <climits>
#include <fstream>

#include "migclock/agent/sync_json.hpp"
#include "migclock/net/client.hpp"
#include "migclock/net/request.hpp"
#include "migclock/protocol/host_messages.hpp"
#include "migclock/protocol/migration_messages.hpp"
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

// A sync's numbers as the protocol carries them (policy only in a command's
// results; SyncResults says which form).
protocol::SyncResults sync_results(const SyncOutcome& o) {
  protocol::SyncResults r;
  r.policy = to_string(o.policy);
  r.guest_offset_before_ns = o.offset_before_ns;
  r.guest_offset_after_ns = o.offset_after_ns;
  r.sync_rtt_ns = o.rtt_ns;
  r.sync_spread_ns = o.spread_ns;
  r.target = target_of(o);
  return r;
}

protocol::Verification verification(const SyncOutcome& o) {
  protocol::Verification v;
  v.method = o.channel == "companion"
                 ? "guest companion time queries NTP-style, lowest-RTT samples (the correcting channel)"
                 : "guest-get-time NTP-style, lowest-RTT samples (the correcting channel)";
  v.channel = o.channel;
  v.verdict = to_string(o.verdict);
  v.residual_ns = o.residual_ns();
  v.uncertainty_ns = o.uncertainty_ns();  // measurement + target
  v.statistical_ns = o.statistical_ns;
  v.spread_ns = o.spread_ns;
  v.rtt_ns = o.rtt_ns;
  v.residual_threshold_ns = o.residual_threshold_ns;
  v.uncertainty_limit_ns = o.uncertainty_limit_ns;
  v.reason = o.verdict_reason;
  return v;
}

std::string event_body(protocol::Phase phase, const std::string& host, int64_t at_ns, std::string reason = {},
                       std::string results_json = {}) {
  return protocol::encode(protocol::PhaseEvent{phase, host, at_ns, std::move(reason), std::move(results_json)});
}

bool is_conflict(const Error& e) { return e.code == make_error_code(errc::conflict); }

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
  return make_error(net::errc_from_status(r->status),
                    method + " " + target + ": HTTP " + std::to_string(r->status) + " " + r->body);
}

Status ControllerLink::register_host(const HostProfile& host, const std::vector<DomainRecord>& vms) {
  protocol::HostRegistration h;
  h.hostname = s_.hostname;
  h.boot_id = host.facts.boot_id;
  h.agent_version = MIGCLOCK_VERSION;
  h.tsc_khz = host.facts.tsc_khz;
  h.scaling_supported = host.facts.scaling_supported;
  h.clocksource = host.facts.clocksource;
  h.offset_honoured = host.facts.offset_honoured;
  h.tsc_khz_source = host.facts.tsc_khz_source;
  h.kvm = host.facts.kvm;
  h.masterclock_possible = host.masterclock_possible;
  for (const auto& v : vms) h.vms.push_back(protocol::VmEntry{v.uuid, v.name, v.state});
  auto r = request_ok("PUT", "/api/v1/hosts/" + net::percent_encode(s_.hostname), protocol::encode(h));
  MIGCLOCK_TRY(r);
  return {};
}

Result<int64_t> ControllerLink::measure_clock_offset(const TimeSource& time, int samples) {
  int64_t best_rtt = INT64_MAX, best_theta = 0, best_t4 = 0;
  int taken = 0;
  for (int i = 0; i < samples; ++i) {
    const int64_t t1 = time.realtime_ns();
    auto reply = request_ok("POST", "/api/v1/time", protocol::encode(protocol::TimeRequest{t1}));
    const int64_t t4 = time.realtime_ns();
    MIGCLOCK_TRY(reply);
    auto times = protocol::parse<protocol::TimeReply>(*reply, "POST /api/v1/time");
    MIGCLOCK_TRY(times);
    const int64_t t2 = times->t2_ns, t3 = times->t3_ns;
    const int64_t rtt = (t4 - t1) - (t3 - t2);
    ++taken;
    if (rtt >= 0 && rtt < best_rtt) {
      best_rtt = rtt;
      best_theta = ((t2 - t1) + (t3 - t4)) / 2;
      best_t4 = t4;
    }
  }
  if (best_rtt == INT64_MAX) return make_error(errc::unavailable, "clock offset: no usable sample");
  const protocol::ClockOffsetReport report{best_theta, best_rtt / 2, best_rtt, taken, best_t4};
  auto r = request_ok("POST", "/api/v1/hosts/" + net::percent_encode(s_.hostname) + "/clock-offset",
                      protocol::encode(report));
  MIGCLOCK_TRY(r);
  return best_theta;
}

Result<std::string> ControllerLink::ship(const OutboxItem& item, const snapshot::Snapshot& s) {
  protocol::MigrationAnnounce a;
  a.vm_uuid = s.vm.uuid.empty() ? s.vm.name : s.vm.uuid;
  a.vm_name = s.vm.name;
  a.source = s_.hostname;
  a.kind = item.kind == "save-restore" || item.kind == "suspend-resume" ? item.kind : "live";
  auto created = request_ok("POST", "/api/v1/migrations", protocol::encode(a));
  MIGCLOCK_TRY(created);
  auto ref = protocol::parse<protocol::MigrationRef>(*created, "POST /api/v1/migrations", protocol::kMaxDepthWithSnapshot);
  MIGCLOCK_TRY(ref);
  const std::string id = ref->id;
  auto bytes = serialization::encode(s, serialization::Format::binary);
  MIGCLOCK_TRY(bytes);
  auto put = request_ok("PUT", "/api/v1/migrations/" + net::percent_encode(id) + "/snapshot", *bytes,
                        protocol::kSnapshotContentType);
  // 409: a different snapshot is already there (an earlier attempt of ours
  // that crossed a capture): the controller keeps the first; ours is done.
  if (!put && !is_conflict(put.error())) return put.error();
  return id;
}

Result<std::vector<ControllerCommand>> ControllerLink::poll_commands(int wait_s) {
  client_->set_timeout(std::chrono::milliseconds((wait_s + 10) * 1000));
  auto body = request_ok("GET", "/api/v1/hosts/" + net::percent_encode(s_.hostname) + "/commands?wait_s=" +
                                    std::to_string(wait_s), "");
  client_->set_timeout(std::chrono::milliseconds(10'000));
  MIGCLOCK_TRY(body);
  return protocol::parse<protocol::CommandBatch>(*body, "commands");
}

Status ControllerLink::report_command(const std::string& id, bool ok, const std::string& message,
                                      const SyncOutcome* o) {
  const protocol::CommandResult result{ok, message, o ? protocol::command_results_json(sync_results(*o)) : ""};
  auto r = request_ok("POST", "/api/v1/hosts/" + net::percent_encode(s_.hostname) + "/commands/" +
                                  net::percent_encode(id) + "/result",
                      protocol::encode(result));
  MIGCLOCK_TRY(r);
  return {};
}

Result<std::string> ControllerLink::active_migration(const std::string& uuid, const std::string& name,
                                                     const std::string& kind) {
  auto list = request_ok("GET", "/api/v1/migrations?vm=" + net::percent_encode(uuid) + "&active=true", "");
  MIGCLOCK_TRY(list);
  auto page = protocol::parse<protocol::MigrationRefPage>(*list, "GET /api/v1/migrations",
                                                          protocol::kMaxDepthWithSnapshot);
  MIGCLOCK_TRY(page);
  // Newest first: the newest active migration of that kind.
  for (auto it = page->items.rbegin(); it != page->items.rend(); ++it)
    if (kind.empty() || it->kind == kind) return it->id;
  if (page->items.empty() || kind.empty())
    return make_error(errc::not_found, "no active migration of " + name + " (" + uuid + ") at the controller");
  return make_error(errc::not_found, "no active " + kind + " migration of " + name + " (" + uuid + ") at the controller");
}

Result<ControllerRestoreInputs> ControllerLink::restore_inputs(const std::string& vm_id) {
  auto id = active_migration(vm_id, vm_id, "live");
  MIGCLOCK_TRY(id);
  const std::string target = "/api/v1/migrations/" + net::percent_encode(*id) +
                             "/restore-inputs?destination=" + net::percent_encode(s_.hostname);
  auto body = request_ok("GET", target, "");
  MIGCLOCK_TRY(body);
  auto wire = protocol::parse<protocol::RestoreInputs>(*body, "GET " + target, protocol::kMaxDepthWithSnapshot);
  MIGCLOCK_TRY(wire);
  auto decoded = serialization::decode(wire->snapshot_json, serialization::Format::json);
  MIGCLOCK_TRY(decoded);
  ControllerRestoreInputs in;
  in.migration_id = *id;
  in.source = wire->source;
  in.snapshot = std::move(*decoded);
  in.realtime_offset_ns = wire->realtime_offset_ns;
  in.uncertainty_ns = wire->uncertainty_ns;
  in.measured_at_ns = wire->measured_at_ns;
  return in;
}

Status ControllerLink::report_sync(const std::string& uuid, const std::string& name, const SyncOutcome& o,
                                   int64_t now_ns, bool wait_for_snapshot) {
  using protocol::Phase;
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
    auto shipped = request_ok(
        "POST", events,
        event_body(Phase::shipped, s_.hostname, now_ns, "",
                   protocol::restore_note_json("by value: QEMU's migration stream (libvirt/QEMU VM)")));
    if (!shipped && !is_conflict(shipped.error())) return shipped.error();
  } else if (inputs.error().code == make_error_code(errc::unavailable)) {
    return inputs.error();
  } else if (wait_for_snapshot) {
    return make_error(errc::unavailable, "source's hand-off not at the controller yet: " + inputs.error().message());
  }
  auto resumed = request_ok("POST", events, event_body(Phase::resumed, s_.hostname, o.started_realtime_ns));
  if (!resumed && !is_conflict(resumed.error())) return resumed.error();

  protocol::SyncResults numbers = sync_results(o);
  numbers.policy.reset();  // a phase event's results do not repeat the policy
  const std::string numbers_json = protocol::results_json(numbers);
  if (!o.ok) {
    const std::string why = o.policy == SyncPolicy::off ? o.message : "sync failed: " + o.message;
    auto r = request_ok("POST", events, event_body(Phase::degraded, s_.hostname, now_ns, why, numbers_json));
    MIGCLOCK_TRY(r);
    return {};
  }
  auto synced = request_ok("POST", events, event_body(Phase::synced, s_.hostname, now_ns, "", numbers_json));
  MIGCLOCK_TRY(synced);
  // The verdict closes the migration, so the VM's next migration gets a
  // record of its own. It is what the sync's final measurement can show
  // (sync_verdict.hpp): `verified` only within the threshold and with an
  // uncertainty within the limit, else `degraded` with the numbers.
  const bool verified = o.verdict == SyncVerdict::verified;
  auto closed = request_ok("POST", events,
                           event_body(verified ? Phase::verified : Phase::degraded, s_.hostname, now_ns,
                                      verified ? "" : o.verdict_reason, protocol::results_json(verification(o))));
  MIGCLOCK_TRY(closed);
  return {};
}

}  // namespace migclock::agent
