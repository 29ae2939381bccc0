#include "migclock/agent_sync/companion_sync.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>


namespace migclock::agent_sync {

namespace {

// The same rule as the qemu-ga path (clock_sync.cpp): `so_far` is the sum
// of this sync's earlier steps.
Status check_backward(int64_t step_ns, int64_t so_far, const SyncOptions& o) {
  if (step_ns >= 0) return {};
  switch (o.backward) {
    case BackwardStepPolicy::allow: return {};
    case BackwardStepPolicy::allow_small:
      if (-step_ns <= o.max_backward_step_ns) return {};
      if (so_far + step_ns >= 0) return {};  // takes back part of our own forward step
      break;
    case BackwardStepPolicy::refuse: break;
  }
  return make_error(errc::would_step_backwards, "companion: would step the guest clock back by " +
                                                    std::to_string(-step_ns) + " ns (policy " + to_string(o.backward) + ")");
}

}  // namespace

Result<OffsetEstimate> measure_companion(CompanionChannel& ch, const TimeSource& time, const MeasureOptions& o) {
  if (o.samples == 0) return make_error(errc::invalid_argument, "measure_companion: samples must be at least 1");
  const std::size_t most = std::max(o.samples, o.max_samples);
  std::vector<ClockSample> samples;
  int64_t min_rtt = INT64_MAX;
  const int64_t started = time.monotonic_raw_ns();
  const int64_t budget = std::chrono::duration_cast<std::chrono::nanoseconds>(o.budget).count();
  for (std::size_t i = 0; i < most; ++i) {
    if (i >= o.samples && (min_rtt / 2 <= o.stop_bound_ns || time.monotonic_raw_ns() - started >= budget)) break;
    auto s = ch.time(time, o.command_timeout);
    if (!s) return s.error();
    ClockSample c{s->t1_ns, s->guest_ns, s->t4_ns};
    min_rtt = std::min(min_rtt, c.rtt_ns());
    samples.push_back(c);
  }
  return estimate_offset(std::move(samples), o.keep);
}

Result<SyncReport> sync_via_companion(CompanionChannel& ch, QemuMonitorChannel* monitor, const TimeSource& time,
                                      const SyncOptions& o, const CompanionSyncOptions& co) {
  SyncReport report;
  report.policy = o.policy;
  report.started_at_host_ns = time.monotonic_raw_ns();
  if (o.policy == SyncPolicy::off) {
    report.finished_at_host_ns = report.started_at_host_ns;
    return report;
  }
  auto before = measure_companion(ch, time, o.policy == SyncPolicy::step ? co.before : co.measure);
  if (!before) return before.error();
  // The same target as the qemu-ga path (clock_target.hpp): the domain's
  // <clock> or continuity; every step and residual is relative to it.
  record_first_measurement(report, o.target, *before);
  if (o.policy == SyncPolicy::step) {
    const int64_t deadline = report.started_at_host_ns +
                             std::chrono::duration_cast<std::chrono::nanoseconds>(co.deadline).count();
    OffsetEstimate current = *before;
    int64_t so_far = 0;
    for (int i = 0; i < co.max_steps && std::llabs(report.residual_ns(current)) > o.residual_threshold_ns &&
                    time.monotonic_raw_ns() < deadline;
         ++i) {
      const int64_t step_ns = -report.residual_ns(current);
      if (auto ok = check_backward(step_ns, so_far, o); !ok) return ok.error();
      SetTimeStep st;
      st.step_ns = step_ns;
      st.sent_at_mono_ns = time.monotonic_raw_ns();
      auto r = ch.step(step_ns, std::llabs(step_ns) > co.big_step_ns, o.command_timeout);
      st.set_call_ns = time.monotonic_raw_ns() - st.sent_at_mono_ns;
      if (!r) return r.error();
      if (!r->ok) return make_error(errc::validation_failed, "the guest companion refused a step of " +
                                                                 std::to_string(step_ns) + " ns: " + r->text);
      so_far += step_ns;
      auto after = measure_companion(ch, time, co.measure);
      if (!after) return after.error();
      st.after = *after;
      current = *after;
      report.steps.push_back(st);
    }
    report.after = current;
    if (o.rtc == RtcCatchupPolicy::reset_reinjection) reset_rtc_reinjection(monitor, report);
  }
  report.finished_at_host_ns = time.monotonic_raw_ns();
  return report;
}

}  // namespace migclock::agent_sync
