// The agent's on-request operations: capture, sync, hook events, the
// migrate-begin decision and the owned-VMM snapshot exchange.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "migclock/common/text_guard.hpp"
#include "migclock/agent/agent.hpp"
#include "migclock/agent/domain_xml.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::agent {

std::optional<DomainRecord> Agent::find_domain(const std::string& id) const {
  if (auto r = inventory_.get(id)) return r;
  return inventory_.find_by_name(id);
}

Result<CaptureReport> Agent::capture(const std::string& id, const std::string& kind) {
  const auto rec = find_domain(id);
  if (!rec) return make_error(errc::not_found, "no domain '" + id + "'");
  auto conn = session_->connection();
  MIGCLOCK_TRY(conn);
  CaptureOptions opts;
  opts.guest_agent_connected = rec->agent_connected.value_or(false);
  auto rep = capture_domain(*conn, rec->uuid, host_, time_, opts);
  if (!rep) {
    metrics_.capture_failures++;
    return rep.error();
  }
  if (kind == "live" && !rep->snapshot.guest_time) {
    // Paused at capture: the guest's time as measured just before, if any.
    if (auto g = take_pre_pause(rec->uuid)) {
      rep->snapshot.guest_time = *g;
      rep->notes.push_back("guest time from the last precopy pass, before the pause");
    }
  }
  // Migration captures go to the controller (outbox); on-request ones are
  // for the operator and stay in captures/.
  Result<OutboxItem> item = make_error(errc::io_error, "not stored");
  if (kind == "on-request") {
    Outbox captures(config().effective_state_dir() + "/captures");
    item = captures.put(rep->snapshot, kind);
  } else {
    item = outbox_.put(rep->snapshot, kind);
  }
  if (!item) {
    metrics_.capture_failures++;
    return item.error();
  }
  metrics_.captures++;
  metrics_.outbox_pending = outbox_.pending().size();
  inventory_.note_capture(rec->uuid, rep->snapshot.captured.realtime_ns, item->path);
  if (kind != "on-request") wake_shipper();
  std::string notes;
  for (const auto& n : rep->notes) notes += "; " + n;
  spdlog::info("vm={} uuid={}: captured ({}) pid={} vcpus={} rtc={} guest_time={} → {}{}", rec->name, rec->uuid, kind,
               rep->qemu_pid, rep->snapshot.vcpus.size(), rep->snapshot.rtc.present ? "yes" : "no",
               rep->snapshot.guest_time ? "yes" : "no", item->path, notes);
  if (kind != "on-request" && config().controller_url.empty())
    spdlog::info("vm={} uuid={}: no controller configured; snapshot kept in {}", rec->name, rec->uuid, outbox_.dir());
  return rep;
}

Status Agent::request_sync(const std::string& id, SyncCause cause) {
  const auto rec = find_domain(id);
  if (!rec) return make_error(errc::not_found, "no domain '" + id + "'");
  if (rec->state != "running") return make_error(errc::conflict, "domain '" + rec->name + "' is " + rec->state);
  schedule_sync(rec->uuid, rec->name, std::move(cause), time_.monotonic_raw_ns());
  return {};
}

void Agent::record_hook_event(const HookEvent& ev) {
  metrics_.hook_events++;
  const int64_t now = time_.realtime_ns();
  if (ev.sent_at_ns > 0 && now >= ev.sent_at_ns) metrics_.event_lag.observe(static_cast<double>(now - ev.sent_at_ns) / 1e9);
  std::string uuid = ev.uuid;
  if (uuid.empty()) {
    if (auto rec = inventory_.find_by_name(ev.name)) uuid = rec->uuid;
  }
  const std::string what = "hook " + ev.op + " " + ev.sub_op;
  // Whatever a local peer posted: escaped and cut, so it can neither forge
  // log lines (a '\n' in a name) nor flood them.
  spdlog::info("vm={} uuid={}: {} (extra {})", log_safe(ev.name), log_safe(uuid, 64), log_safe(what), log_safe(ev.extra));
  if (!uuid.empty()) inventory_.note_event(uuid, what, now);
}

MigrateBeginResult Agent::migrate_begin(const std::string& name, const std::string& xml) {
  MigrateBeginResult out;
  auto& in = out.inputs;
  in.host_khz = host_.facts.tsc_khz;
  in.host_scaling = host_.facts.scaling_supported;
  in.guest_invtsc = requires_invtsc(xml);
  in.pinned_hz = tsc_timer_frequency_hz(xml);
  in.policy = config().tsc_pin_policy;
  in.emit_xml = config().tsc_pin_xml;
  if (auto khz = migclock_metadata_attr(xml, "tsc_khz")) {
    try {
      in.source_khz = static_cast<uint32_t>(std::stoul(*khz));
      in.source_evidence = "domain metadata (source host " + migclock_metadata_attr(xml, "host").value_or("?") + ")";
    } catch (const std::exception&) {
      in.source_evidence = "unparseable metadata tsc_khz '" + *khz + "'";
    }
  }
  const std::string uuid = xml_text_of(xml, "uuid");
  if (in.host_khz == 0) {
    // Without our own rate nothing can be compared; say so, per policy.
    in.source_khz.reset();
  }
  out.decision = decide_tsc_pin(in);
  switch (out.decision.action) {
    case TscPinAction::pin: {
      auto pinned = pin_tsc_frequency(xml, out.decision.frequency_hz);
      if (!pinned) {
        out.decision = TscPinDecision{in.policy == TscPinPolicy::strict ? TscPinAction::refuse : TscPinAction::unchanged, 0,
                                      true, "cannot edit the domain XML: " + pinned.error().message()};
        break;
      }
      out.xml = std::move(*pinned);
      metrics_.tsc_pins++;
      spdlog::info("vm={} uuid={}: migrate begin: {} [{}]", name, uuid, out.decision.message, in.source_evidence);
      break;
    }
    case TscPinAction::refuse:
      metrics_.tsc_pin_refusals++;
      spdlog::error("vm={} uuid={}: migrate begin: refusing (strict): {}", name, uuid, out.decision.message);
      break;
    case TscPinAction::unchanged:
      if (out.decision.warning) {
        metrics_.tsc_pin_warnings++;
        spdlog::warn("vm={} uuid={}: migrate begin: XML unchanged (lenient): {}", name, uuid, out.decision.message);
      } else {
        spdlog::info("vm={} uuid={}: migrate begin: XML unchanged ({})", name, uuid,
                     out.decision.message.empty() ? "same TSC frequency, no invtsc" : out.decision.message);
      }
      break;
  }
  return out;
}

namespace {
std::string vmm_dir(const AgentConfig& c) { return c.effective_state_dir() + "/vmm"; }
std::string vmm_id(const snapshot::Snapshot& s) { return s.vm.uuid.empty() ? s.vm.name : s.vm.uuid; }
bool safe_id(const std::string& id) {
  return !id.empty() && id.size() < 128 && id.find('/') == std::string::npos && id != "." && id != "..";
}
}  // namespace

Result<std::string> Agent::accept_vmm_snapshot(const snapshot::Snapshot& s) {
  const std::string id = vmm_id(s);
  if (!safe_id(id)) return make_error(errc::invalid_argument, "snapshot.vm: needs a uuid or name without '/'");
  const std::string dir = vmm_dir(config());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_error(ec.value(), "create " + dir);
  const std::string path = dir + "/" + id + ".mcs";
  MIGCLOCK_TRY(serialization::save_file(path, s));
  metrics_.captures++;
  if (auto item = outbox_.put(s, "vmm"); !item)
    spdlog::warn("vm={} uuid={}: not queued for the controller: {}", s.vm.name, s.vm.uuid, item.error().message());
  else
    wake_shipper();
  metrics_.outbox_pending = outbox_.pending().size();
  spdlog::info("vm={} uuid={}: VMM snapshot stored ({} vCPUs) → {}", s.vm.name, s.vm.uuid, s.vcpus.size(), path);
  return path;
}

Result<RestoreInputs> Agent::restore_inputs(const std::string& vm_id) const {
  if (!safe_id(vm_id)) return make_error(errc::invalid_argument, "vm: not a valid id");
  const std::string path = vmm_dir(config()) + "/" + vm_id + ".mcs";
  auto local = serialization::load_file(path);
  if (!local && local.error().code != std::make_error_code(std::errc::no_such_file_or_directory)) return local.error();
  // Captured on this machine since it last booted (the boot id is per
  // machine and boot, whatever name an agent goes by): one CLOCK_REALTIME.
  if (local && !local->host.boot_id.empty() && local->host.boot_id == host_.facts.boot_id) {
    RestoreInputs r;
    r.snapshot = std::move(*local);
    r.evidence = "same host and boot: one CLOCK_REALTIME";
    return r;
  }
  std::string why_unmeasured = "no controller configured";
  if (controller_) {
    // A link of its own: net::Client is one per thread, and this runs on
    // the API's worker pool.
    ControllerLink link(*controller_);
    auto remote = link.restore_inputs(vm_id);
    if (remote) {
      RestoreInputs r;
      r.snapshot = std::move(remote->snapshot);
      r.realtime_offset_ns = remote->realtime_offset_ns;
      r.uncertainty_ns = remote->uncertainty_ns;
      r.evidence = "controller: migration " + remote->migration_id + ", " + remote->source + " -> " +
                   host_.facts.hostname + " offset measured at " + std::to_string(remote->measured_at_ns) + " ns";
      spdlog::info("vm={}: restore inputs from the controller (migration {}): host offset {} ns +- {} ns", vm_id,
                   remote->migration_id, r.realtime_offset_ns, r.uncertainty_ns);
      return r;
    }
    if (!local) return remote.error();
    why_unmeasured = "controller: " + remote.error().message();
  }
  if (!local) return make_error(errc::not_found, "no snapshot for VM '" + vm_id + "' on this host (" + why_unmeasured + ")");
  // A snapshot from another host (or boot) without a measured offset: the
  // hosts are assumed to agree, and the answer says so.
  RestoreInputs r;
  r.snapshot = std::move(*local);
  r.uncertainty_ns = -1;
  r.evidence = "unmeasured: source " + r.snapshot.host.hostname + " (" + why_unmeasured + ")";
  spdlog::warn("vm={}: restore inputs without a measured host offset: {}", vm_id, r.evidence);
  return r;
}

}  // namespace migclock::agent
