// Repairing a guest's wall clock through its agent after resume/migration.
//
//   0. the target: the offset (guest - host) the guest should end at
//      (clock_target.hpp: the domain's <clock>, or the guest's own offset
//      before the pause); every "offset" and "residual" below is relative
//      to it;
//   1. measure the offset (offset_measurement.hpp);
//   2. guest-set-time with an explicit time computed for the moment the guest
//      applies it: host time at send + the estimated send-to-apply delay
//      (first estimate: min RTT / 2);
//   3. measure again; the residual r tells how wrong the delay estimate was
//      (r = estimate - true delay), so while |r| > threshold and corrections
//      remain, set again with estimate - r and measure again; stop early when
//      |r| is within the VM's known apply jitter, or when a correction made
//      |r| larger (the delay is jittering more than corrections can fix);
//   4. where the domain's RTC uses tickpolicy='catchup', rtc-reset-reinjection
//      through the QEMU monitor so the guest is not fed the missed ticks on
//      top of the step.
// Nothing here throws; every failure is an Error the caller logs and counts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "migclock/agent_sync/clock_target.hpp"
#include "migclock/agent_sync/guest_agent_channel.hpp"
#include "migclock/agent_sync/offset_measurement.hpp"
#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"

namespace migclock::agent_sync {

enum class SyncPolicy {
  step,     // measure, set, verify (default)
  measure,  // never touch the guest: only record its offset (guests running chrony/NTP)
  off,      // do nothing
};

// Whether the guest's clock may be stepped backwards, relative to the
// target: a guest 3600 s ahead of UTC whose target is +3600 s and that lost
// a 3 s pause is stepped forward by 3 s, not back by an hour. A migrated or
// resumed guest lags its target, so the repair steps it forward; a backward
// step only happens when a correction undoes an overshoot, or when the guest
// was ahead of its target.
enum class BackwardStepPolicy {
  refuse,             // never step back: errc::would_step_backwards instead
  allow_small,        // at most max_backward_step_ns, or a correction that only takes back part
                      // of this sync's own forward step (the guest never ends up behind the
                      // reading it had when the sync began) (default)
  allow,              // any step
};

enum class RtcCatchupPolicy {
  none,               // the RTC does not catch up (no rtc-reset-reinjection)
  reset_reinjection,  // <timer name='rtc' tickpolicy='catchup'/>: reset after the step
};

const char* to_string(SyncPolicy p);
const char* to_string(BackwardStepPolicy p);
Result<SyncPolicy> parse_sync_policy(const std::string& text);  // "step" | "measure" | "off"

struct SyncOptions {
  SyncPolicy policy = SyncPolicy::step;
  BackwardStepPolicy backward = BackwardStepPolicy::allow_small;
  int64_t max_backward_step_ns = 5'000'000;
  RtcCatchupPolicy rtc = RtcCatchupPolicy::none;
  // Where the guest should end (default: host UTC, offset 0).
  ClockTarget target;
  // The step's target does not depend on the offset before it (only on the
  // host's time and the delay), so the first measurement is short: it only
  // decides whether to step, checks the direction, and records the lag.
  // (SyncPolicy::measure uses `measure` instead.)
  MeasureOptions before_measure{4, 2, std::chrono::milliseconds(2000), 0};
  MeasureOptions measure;  // the verifications after each step
  int64_t residual_threshold_ns = 50'000;  // correct again above this |residual|
  int max_corrections = 2;                 // set-time calls after the first
  // The send-to-apply delay learned by an earlier sync of the same VM
  // (SyncReport::learned_apply_delay_ns); without it the first step assumes
  // min RTT / 2, which under-estimates qemu-ga's apply latency.
  std::optional<int64_t> apply_delay_hint_ns;
  // The delay of a correction (a step after the first), learned from earlier
  // syncs' corrections. The first guest-set-time after an event runs on a
  // cold path - after a migration the destination QEMU retranslates the
  // guest's code (TCG), and qemu-ga is paged in - so it is slower than the
  // ones that follow (measured here: ~2 ms vs ~0.7 ms after a migration).
  // Without this hint the first correction assumes the first step's delay.
  std::optional<int64_t> correction_delay_hint_ns;
  // How much the correction delay varies from one call to the next for this
  // VM (ApplyDelayTracker::jitter_ns). A correction is only worth it when the
  // residual exceeds both the threshold and this: below it, another step is
  // as likely to make things worse as better.
  std::optional<int64_t> apply_jitter_ns;
  std::chrono::milliseconds command_timeout{2000};
  // The channel's reply path, learned elsewhere (the agent's QgaBias:
  // qemu-ga against the companion on the same host). qemu-ga's request path
  // holds what varies (libvirt, the chardev, qemu-ga's main loop and JSON
  // parse before it reads the clock); its reply path is close to constant.
  // So an exchange of round trip RTT reads the offset high by about
  // RTT/2 - reply, and a sync that drives its own measurement to zero
  // leaves the guest that much behind (0.35-1.0 ms, judged through the
  // time probe). When set, every measurement of this sync is lowered by
  // clamp(asymmetry_bound - reply, 0, asymmetry_bound). The asymmetry bound
  // stays as it is: the correction is an estimate, the bound is what
  // causality guarantees.
  std::optional<int64_t> channel_reply_path_ns;
  // Right after a live migration the guest runs on a destination QEMU whose
  // translated code is cold (TCG) and whose qemu-ga has just reconnected:
  // measured here, the first guest-set-time took ~68 ms to apply and the
  // next ones 1-9 ms, settling at ~0.6 ms a few hundred ms later. So the
  // first step is taken at once (coarse: the guest was ~100 ms behind), and
  // the corrections only once this long has passed since it was sent.
  std::chrono::milliseconds settle_before_corrections{0};
  // How to wait (injected so the model tests run on model time).
  std::function<void(std::chrono::nanoseconds)> sleep;
};

struct SetTimeStep {
  int64_t assumed_delay_ns = 0;   // send-to-apply delay the target was computed with
  int64_t target_guest_ns = 0;    // the time sent
  int64_t step_ns = 0;            // the expected change of the guest clock (target - guest's estimate)
  int64_t set_call_ns = 0;        // guest-set-time round trip (includes qemu-ga's hwclock -w)
  int64_t sent_at_mono_ns = 0;    // TimeSource::monotonic_raw_ns when guest-set-time was sent
  OffsetEstimate after;           // measured after this step
};

struct SyncReport {
  SyncPolicy policy = SyncPolicy::step;
  // The target this sync aimed at (guest - host), resolved: a relative
  // target plus the first measurement. Offsets in the estimates below are
  // raw guest - host; residual_ns() is relative to the target.
  int64_t target_offset_ns = 0;
  // ± where the target lies: its own, plus the first measurement's
  // asymmetry bound when it was derived from that measurement.
  int64_t target_uncertainty_ns = 0;
  std::string target_source;  // ClockTarget::source, and how it resolved
  // What SyncOptions::channel_reply_path_ns removed from the first
  // measurement (every estimate below has its own share removed).
  int64_t channel_bias_ns = 0;
  int64_t residual_ns(const OffsetEstimate& e) const { return e.median_offset_ns - target_offset_ns; }
  std::optional<OffsetEstimate> before;
  std::vector<SetTimeStep> steps;        // one per guest-set-time
  std::optional<OffsetEstimate> after;   // == steps.back().after when steps were taken
  // The measurement after the settle wait (SyncOptions::settle_before_corrections).
  std::optional<OffsetEstimate> settled;
  // The send-to-apply delay that the last step's residual implies: feed it
  // back as SyncOptions::apply_delay_hint_ns next time for this VM.
  std::optional<int64_t> learned_apply_delay_ns;
  // The delay each step's residual implies (assumed - residual), oldest first:
  // feed them all to ApplyDelayTracker::record.
  std::vector<int64_t> implied_apply_delays_ns() const;
  // The first step's, and the corrections', apart (see SyncOptions): feed
  // them to separate trackers.
  std::optional<int64_t> first_step_delay_ns() const;
  std::vector<int64_t> correction_delays_ns() const;
  bool rtc_reinjection_reset = false;
  std::string rtc_error;                 // set when rtc-reset-reinjection failed (the sync itself stands)
  int64_t started_at_host_ns = 0;        // TimeSource::monotonic_raw_ns
  int64_t finished_at_host_ns = 0;
  int64_t duration_ns() const { return finished_at_host_ns - started_at_host_ns; }
};

// The first measurement of a sync, and the target it resolves (a relative
// target is added to it): report.before/after and report.target_*.
void record_first_measurement(SyncReport& report, const ClockTarget& target, const OffsetEstimate& before);

// rtc-reset-reinjection through the QEMU monitor after a step (QEMU would
// otherwise re-inject the RTC ticks missed while paused on top of it); the
// outcome goes into report.rtc_reinjection_reset / rtc_error.
void reset_rtc_reinjection(QemuMonitorChannel* monitor, SyncReport& report);

// Runs the policy once against a connected agent. `monitor` may be null
// (then RtcCatchupPolicy::reset_reinjection is reported in rtc_error).
Result<SyncReport> sync_guest_clock(GuestAgentChannel& agent, QemuMonitorChannel* monitor,
                                    const TimeSource& time, const SyncOptions& options);

}  // namespace migclock::agent_sync
