// Where a sync puts the guest's clock (agent_sync/clock_target.hpp): the
// domain's own <clock> (sync_target = domain_clock), or the guest's own
// offset before the pause (continuity). Whatever is chosen, or why a choice
// fell back, is in the target's `source` (last_sync, logs, controller).
#include <spdlog/spdlog.h>

#include <thread>

#include "migclock/agent/agent.hpp"
#include "migclock/agent_sync/tz_offset.hpp"

namespace migclock::agent {

using agent_sync::ClockTarget;

namespace {

constexpr int64_t kMaxPauseNs = int64_t{24} * 3600 * 1'000'000'000;

Result<ClockTarget> domain_target(const std::string& clock_xml, int64_t now_ns) {
  auto c = agent_sync::parse_domain_clock(clock_xml);
  if (!c) return c.error();
  return agent_sync::domain_clock_target(*c, now_ns, agent_sync::system_utc_offset);
}

// The domain's clock as the target; `why` says why continuity was not
// available (empty when domain_clock was asked for).
void use_domain_clock(SyncRequest& r, const std::string& clock_xml, int64_t now_ns, const std::string& why) {
  const std::string fallback = why.empty() ? "" : " (continuity unavailable: " + why + ")";
  if (auto t = domain_target(clock_xml, now_ns)) {
    r.options.target = *t;
    r.options.target.source += fallback;
    if (!why.empty()) spdlog::warn("vm={} uuid={}: {}: {}", r.name, r.uuid, r.cause.text, r.options.target.source);
    return;
  } else {
    // No target the agent can stand behind (offset='absolute' without a
    // pre-pause offset, or a <clock> it cannot read): never step to a guess.
    if (r.options.policy == agent_sync::SyncPolicy::step) r.options.policy = agent_sync::SyncPolicy::measure;
    r.options.target = ClockTarget{};
    r.options.target.source = "none: " + t.error().message() + fallback + "; measured against host UTC, guest untouched";
  }
  spdlog::warn("vm={} uuid={}: {}: {}", r.name, r.uuid, r.cause.text, r.options.target.source);
}

// Continuity after a live migration, from what the source captured.
Result<ClockTarget> continuity_after_migration(const ControllerRestoreInputs& in, int64_t resumed_realtime_ns) {
  const auto& s = in.snapshot;
  const std::string from = "migration " + in.migration_id + " from " + in.source;
  if (s.guest_time) {
    // The source read the guest's clock while it still ran.
    return agent_sync::continuity_from_measurement(s.guest_time->guest_ns - s.guest_time->host_mid_ns,
                                                   s.guest_time->rtt_ns / 2, in.realtime_offset_ns, in.uncertainty_ns,
                                                   from + " (guest-get-time on the source)");
  }
  // The usual case: the source captures on SUSPENDED_MIGRATED, when the
  // guest is already paused and its agent cannot answer. Its clock stood
  // still from that pause until the resume here: the capture time,
  // translated to this host's clock, marks the pause.
  const int64_t paused = resumed_realtime_ns - (s.captured.realtime_ns + in.realtime_offset_ns);
  if (paused < 0 || paused > kMaxPauseNs)
    return make_error(errc::conflict, from + ": snapshot captured " + std::to_string(paused) +
                                          " ns before this resume: not this migration's pause");
  return agent_sync::continuity_from_pause(paused, in.uncertainty_ns,
                                           from + " (source capture on SUSPENDED_MIGRATED -> RESUMED_MIGRATED here)");
}

}  // namespace

void Agent::choose_target(SyncRequest& req, const std::string& clock_xml, const AgentConfig& cfg) {
  const auto mode = cfg.sync_target_for(req.uuid, req.name);
  req.target_mode = agent_sync::to_string(mode);
  const int64_t now_rt = time_.realtime_ns();
  if (mode == agent_sync::TargetMode::domain_clock) {
    // offset='absolute' has no offset the agent can know: continuity is what
    // keeps such a guest where it would have been.
    auto t = domain_target(clock_xml, now_rt);
    // offset='variable' after a pause: libvirt's live `adjustment` follows
    // the guest's RTC writes, and an RTC holds whole seconds - every
    // `hwclock -w` (qemu-ga runs one after guest-set-time) may move it by a
    // second either way (seen here: 3600 -> 3601 -> 3602 over two syncs, a
    // ratchet). It states the guest's offset only to a second, so across a
    // pause continuity keeps the guest's own offset; the adjustment stays
    // the target of a sync on request and the fallback.
    const auto clock = agent_sync::parse_domain_clock(clock_xml);
    const bool paused = req.cause.trigger == SyncTrigger::resumed || req.cause.trigger == SyncTrigger::migrated;
    const bool variable = clock && clock->offset == agent_sync::DomainClock::Offset::variable;
    if (!(variable && paused) && (t || t.error().code != make_error_code(errc::not_supported)))
      return use_domain_clock(req, clock_xml, now_rt, "");
    req.target_mode = "continuity";
    spdlog::info("vm={} uuid={}: {}: {}; using continuity", req.name, req.uuid, req.cause.text,
                 t ? "offset='variable': its live adjustment is known to a second only" : t.error().message());
  }

  if (req.cause.trigger == SyncTrigger::resumed) {
    std::optional<int64_t> suspended;
    {
      std::lock_guard<std::mutex> lock(suspended_mu_);
      auto it = suspended_at_mono_ns_.find(req.uuid);
      if (it != suspended_at_mono_ns_.end()) suspended = it->second;
    }
    if (!suspended || *suspended > req.event_mono_ns)
      return use_domain_clock(req, clock_xml, now_rt, "no SUSPENDED event seen before this resume");
    // Both ends are libvirt events received by this process: their delivery
    // delays mostly cancel, but not under load (measured off by 10 ms in
    // docs/agent.md). The fallback for QEMU's own timestamps, below.
    req.options.target = agent_sync::continuity_from_pause(req.event_mono_ns - *suspended, 0,
                                                           "suspend/resume on this host (SUSPENDED -> RESUMED events)");
    std::optional<int64_t> last;
    {
      std::lock_guard<std::mutex> lock(suspended_mu_);
      auto it = last_offset_ns_.find(req.uuid);
      if (it != last_offset_ns_.end()) last = it->second;
    }
    req.options.target.last_known_offset_ns = last;
    const int64_t resumed_rt = now_rt - (time_.monotonic_raw_ns() - req.event_mono_ns);
    req.prepare = [this, resumed_rt, last](SyncRequest& r) {
      // QEMU's STOP/RESUME timestamps: libvirt passes the RESUME on around
      // the lifecycle event, in either order; give it a moment.
      const int64_t deadline = time_.monotonic_raw_ns() + 500'000'000;
      while (true) {
        QemuPause p;
        {
          std::lock_guard<std::mutex> lock(suspended_mu_);
          auto it = qemu_pause_.find(r.uuid);
          if (it != qemu_pause_.end()) p = it->second;
          // This resume's: within 5 s of the lifecycle event (a host clock
          // step during the pause would show here too).
          if (p.resume_rt_ns > p.stop_rt_ns && std::llabs(p.resume_rt_ns - resumed_rt) < 5'000'000'000) {
            qemu_pause_.erase(r.uuid);
            r.options.target = agent_sync::continuity_from_pause(
                p.resume_rt_ns - p.stop_rt_ns, 1'000,  // QEMU stamps to the microsecond
                "suspend/resume on this host (QEMU's STOP -> RESUME timestamps)");
            r.options.target.last_known_offset_ns = last;
            return;
          }
        }
        if (time_.monotonic_raw_ns() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      spdlog::info("vm={} uuid={}: {}: no QEMU STOP/RESUME timestamps; the pause is dated by libvirt's events", r.name,
                   r.uuid, r.cause.text);
    };
    return;
  }
  if (req.cause.trigger == SyncTrigger::migrated) {
    if (!controller_) return use_domain_clock(req, clock_xml, now_rt, "no controller configured");
    const int64_t resumed_rt = now_rt - (time_.monotonic_raw_ns() - req.event_mono_ns);
    const int wait_ms = cfg.continuity_wait_ms;
    req.options.target.source = "continuity: the controller's restore inputs";
    req.prepare = [this, settings = *controller_, resumed_rt, wait_ms, clock_xml](SyncRequest& r) {
      // Fetched now, before the sync: the source's snapshot (sent when the
      // guest paused there) is usually at the controller already; it may
      // still be on its way, so retry for a short, bounded while.
      ControllerLink link(settings);
      const int64_t deadline = time_.monotonic_raw_ns() + int64_t{wait_ms} * 1'000'000;
      auto in = link.restore_inputs(r.uuid);
      while (!in && time_.monotonic_raw_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        in = link.restore_inputs(r.uuid);
      }
      Result<ClockTarget> t = in ? continuity_after_migration(*in, resumed_rt) : Result<ClockTarget>(in.error());
      if (!t) return use_domain_clock(r, clock_xml, time_.realtime_ns(), "restore inputs: " + t.error().message());
      r.options.target = *t;
      spdlog::info("vm={} uuid={}: {}: target {}", r.name, r.uuid, r.cause.text, r.options.target.source);
    };
    return;
  }
  if (req.cause.trigger == SyncTrigger::restored)
    return use_domain_clock(req, clock_xml, now_rt, "a restore from an image: the time it lay on disk is not recorded");
  // On request: nothing was paused; the guest's own offset is its current one.
  req.options.target = ClockTarget{};
  req.options.target.relative_to_measured = true;
  req.options.target.source = "continuity: the guest's current offset (no pause to repair)";
}

}  // namespace migclock::agent
