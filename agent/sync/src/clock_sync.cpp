#include "migclock/agent_sync/clock_sync.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "migclock/agent_sync/qga_json.hpp"

namespace migclock::agent_sync {

const char* to_string(SyncPolicy p) {
  switch (p) {
    case SyncPolicy::step: return "step";
    case SyncPolicy::measure: return "measure";
    case SyncPolicy::off: return "off";
  }
  return "?";
}

const char* to_string(BackwardStepPolicy p) {
  switch (p) {
    case BackwardStepPolicy::refuse: return "refuse";
    case BackwardStepPolicy::allow_small: return "allow_small";
    case BackwardStepPolicy::allow: return "allow";
  }
  return "?";
}

Result<SyncPolicy> parse_sync_policy(const std::string& text) {
  if (text == "step") return SyncPolicy::step;
  if (text == "measure") return SyncPolicy::measure;
  if (text == "off") return SyncPolicy::off;
  return make_error(errc::invalid_argument, "sync policy \"" + text + "\": expected step, measure or off");
}

namespace {

// The delay from "host reads its clock before sending" to "guest applies the
// time" is never negative and, on any working path, far below a second.
constexpr int64_t kMaxAssumedDelayNs = 1'000'000'000;

// `stepped_so_far_ns`: the sum of this sync's earlier steps.
Status check_backward_step(int64_t step_ns, int64_t stepped_so_far_ns, const SyncOptions& o) {
  if (step_ns >= 0) return {};
  switch (o.backward) {
    case BackwardStepPolicy::allow: return {};
    case BackwardStepPolicy::allow_small:
      if (-step_ns <= o.max_backward_step_ns) return {};
      if (stepped_so_far_ns + step_ns >= 0) return {};  // undoes part of our own overshoot
      break;
    case BackwardStepPolicy::refuse: break;
  }
  return make_error(errc::would_step_backwards,
                    "guest-set-time: would step the guest clock back by " + std::to_string(-step_ns) + " ns (policy " +
                        to_string(o.backward) + ")");
}

// A measurement with the channel's known asymmetry removed (SyncOptions).
Result<OffsetEstimate> measure_unbiased(GuestAgentChannel& agent, const TimeSource& time, const MeasureOptions& mo,
                                        const SyncOptions& o, int64_t* removed = nullptr) {
  auto e = measure_offset(agent, time, mo);
  if (e && o.channel_reply_path_ns) {
    const int64_t bias = std::clamp<int64_t>(e->asymmetry_bound_ns - *o.channel_reply_path_ns, 0, e->asymmetry_bound_ns);
    e->median_offset_ns -= bias;
    if (removed) *removed = bias;
  }
  return e;
}

// One guest-set-time with a target for the moment of application, then a
// fresh measurement. `current` is the latest offset estimate (guest - host),
// `target_ns` the offset (guest - host) the guest should have.
Result<SetTimeStep> set_and_verify(GuestAgentChannel& agent, const TimeSource& time, const SyncOptions& o,
                                   const OffsetEstimate& current, int64_t target_ns, int64_t assumed_delay_ns,
                                   int64_t stepped_so_far_ns) {
  SetTimeStep step;
  step.assumed_delay_ns = assumed_delay_ns;
  step.sent_at_mono_ns = time.monotonic_raw_ns();
  const int64_t send_ns = time.realtime_ns();
  step.target_guest_ns = send_ns + assumed_delay_ns + target_ns;
  // How far the guest moves: from where it is to its target.
  step.step_ns = target_ns - current.median_offset_ns;
  MIGCLOCK_TRY(check_backward_step(step.step_ns, stepped_so_far_ns, o));
  auto reply = agent.command(guest_set_time_command(step.target_guest_ns), o.command_timeout);
  step.set_call_ns = time.realtime_ns() - send_ns;
  if (!reply) return reply.error();
  MIGCLOCK_TRY(parse_empty_return(*reply, "guest-set-time"));
  auto after = measure_unbiased(agent, time, o.measure, o);
  if (!after) return after.error();
  step.after = *after;
  return step;
}

}  // namespace

std::vector<int64_t> SyncReport::implied_apply_delays_ns() const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < steps.size(); ++i) {
    // The first step's result is best judged by the settled measurement,
    // when there is one (the one right after it ran on a cold guest).
    const int64_t residual = residual_ns(i == 0 && settled ? *settled : steps[i].after);
    out.push_back(std::clamp<int64_t>(steps[i].assumed_delay_ns - residual, 0, kMaxAssumedDelayNs));
  }
  return out;
}

std::optional<int64_t> SyncReport::first_step_delay_ns() const {
  const auto all = implied_apply_delays_ns();
  if (all.empty()) return std::nullopt;
  return all.front();
}

std::vector<int64_t> SyncReport::correction_delays_ns() const {
  auto all = implied_apply_delays_ns();
  if (!all.empty()) all.erase(all.begin());
  return all;
}

void record_first_measurement(SyncReport& report, const ClockTarget& target, const OffsetEstimate& before) {
  report.before = before;
  report.after = before;
  const ResolvedTarget resolved = resolve_target(target, before.median_offset_ns);
  report.target_source = target.source + resolved.note;
  report.target_offset_ns = resolved.offset_ns;
  report.target_uncertainty_ns = target.uncertainty_ns + (target.relative_to_measured ? before.asymmetry_bound_ns : 0);
}

void reset_rtc_reinjection(QemuMonitorChannel* monitor, SyncReport& report) {
  if (monitor == nullptr) {
    report.rtc_error = "rtc-reset-reinjection: no monitor channel";
  } else if (auto r = monitor->command(rtc_reset_reinjection_command()); !r) {
    report.rtc_error = r.error().message();
  } else if (auto p = parse_empty_return(*r, "rtc-reset-reinjection"); !p) {
    report.rtc_error = p.error().message();
  } else {
    report.rtc_reinjection_reset = true;
  }
}

Result<SyncReport> sync_guest_clock(GuestAgentChannel& agent, QemuMonitorChannel* monitor,
                                    const TimeSource& time, const SyncOptions& o) {
  SyncReport report;
  report.policy = o.policy;
  report.started_at_host_ns = time.monotonic_raw_ns();
  if (o.policy == SyncPolicy::off) {
    report.finished_at_host_ns = time.monotonic_raw_ns();
    return report;
  }
  if (o.max_corrections < 0) return make_error(errc::invalid_argument, "sync: max_corrections must be >= 0");

  // measure: the measurement is the whole output, so it gets the full one.
  auto before = measure_unbiased(agent, time, o.policy == SyncPolicy::measure ? o.measure : o.before_measure, o,
                                 &report.channel_bias_ns);
  if (!before) return before.error();
  record_first_measurement(report, o.target, *before);
  // The residual relative to the target (what the loop below drives to 0).
  const auto off = [&report](const OffsetEstimate& e) { return report.residual_ns(e); };

  if (o.policy == SyncPolicy::step) {
    OffsetEstimate current = *before;
    int64_t delay = std::clamp<int64_t>(o.apply_delay_hint_ns.value_or(before->min_rtt_ns / 2), 0, kMaxAssumedDelayNs);
    for (int i = 0; i <= o.max_corrections; ++i) {
      if (i == 1 && o.settle_before_corrections.count() > 0) {
        // Let the freshly migrated guest warm up, then look again: what
        // follows is decided on a measurement taken once it has.
        const int64_t until = report.steps[0].sent_at_mono_ns +
                              std::chrono::duration_cast<std::chrono::nanoseconds>(o.settle_before_corrections).count();
        const int64_t left = until - time.monotonic_raw_ns();
        if (left > 0) {
          if (o.sleep) o.sleep(std::chrono::nanoseconds(left));
          else std::this_thread::sleep_for(std::chrono::nanoseconds(left));
        }
        auto settled = measure_unbiased(agent, time, o.measure, o);
        if (!settled) return settled.error();
        current = *settled;
        report.settled = current;
      }
      // Within the threshold already: another step would only add noise.
      if (std::llabs(off(current)) <= o.residual_threshold_ns) break;
      if (i > 0 && o.apply_jitter_ns && std::llabs(off(current)) <= *o.apply_jitter_ns) break;
      // The last correction made it worse: the apply delay jitters more than
      // corrections can fix right now; more steps would only chase noise.
      if (i > 1 && std::llabs(off(current)) > std::llabs(off(report.steps[i - 2].after))) break;
      if (i == 1 && o.correction_delay_hint_ns) {
        // The first step ran on the cold path; a correction runs warm.
        delay = std::clamp<int64_t>(*o.correction_delay_hint_ns, 0, kMaxAssumedDelayNs);
      } else if (i == 1 && report.settled) {
        // Nothing learned yet, and the cold first step says nothing about a
        // warm one: start again from the path's own estimate.
        delay = std::clamp<int64_t>(current.min_rtt_ns / 2, 0, kMaxAssumedDelayNs);
      } else if (i > 0) {
        // residual = assumed - true delay (see the header): learn the delay.
        delay = std::clamp<int64_t>(delay - off(current), 0, kMaxAssumedDelayNs);
      }
      int64_t stepped_so_far_ns = 0;
      for (const auto& s : report.steps) stepped_so_far_ns += s.step_ns;
      auto step = set_and_verify(agent, time, o, current, report.target_offset_ns, delay, stepped_so_far_ns);
      if (!step) return step.error();
      current = step->after;
      report.steps.push_back(*step);
    }
    report.after = current;
    if (!report.steps.empty()) {
      report.learned_apply_delay_ns =
          std::clamp<int64_t>(report.steps.back().assumed_delay_ns - off(current), 0, kMaxAssumedDelayNs);
    }

    if (o.rtc == RtcCatchupPolicy::reset_reinjection) reset_rtc_reinjection(monitor, report);
  }
  report.finished_at_host_ns = time.monotonic_raw_ns();
  return report;
}

}  // namespace migclock::agent_sync
