// Repairing a guest's wall clock through the guest companion (guest/):
//
//   1. measure NTP-style over the companion's port (min-RTT filtered,
//      adaptive: more exchanges while the lowest RTT leaves the asymmetry
//      bound above the stop bound);
//   2. step the guest clock by -offset, relative (the companion applies it
//      with clock_adjtime ADJ_SETOFFSET), so the step's accuracy does not
//      depend on when it arrives - only on the measurement;
//   3. measure again; repeat while |residual| > residual_threshold_ns, until
//      max_steps or the deadline.
// The report has the qemu-ga path's shape (SyncReport), so the verdict and
// last_sync treat both paths alike; a step's assumed_delay_ns is 0 (there
// is no delay to assume) and target_guest_ns is 0 (no absolute target).
// The backward-step policy and the RTC reinjection reset are SyncOptions',
// as on the qemu-ga path.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "migclock/agent_sync/clock_sync.hpp"
#include "migclock/agent_sync/companion_channel.hpp"
#include "migclock/agent_sync/offset_measurement.hpp"

namespace migclock::agent_sync {

struct CompanionSyncOptions {
  // The channel's RTT is ~60-100 us (vs 0.7-2.4 ms through qemu-ga), so 16
  // exchanges cost a few ms; keep the 4 fastest; stop early once the
  // fastest bounds the asymmetry within 25 us.
  // Before the first step: at most 64 exchanges or 30 ms - the guest is
  // tens of ms to seconds behind, and every ms spent here is a ms of the
  // blackout left in it; the verification catches what this one missed.
  MeasureOptions before{16, 4, std::chrono::milliseconds(500), 64, 25'000, std::chrono::milliseconds(30)};
  // After each step: right after a migration the destination's TCG code is
  // cold and the fastest of 64 exchanges was still 170-200 us (a bound
  // above the 100 us verdict limit), so up to 256 exchanges or 150 ms: the
  // RTT falls as the path warms up.
  MeasureOptions measure{16, 4, std::chrono::milliseconds(500), 256, 25'000, std::chrono::milliseconds(150)};
  std::chrono::milliseconds deadline{3000};  // from the first measurement
  int max_steps = 4;
  // Steps above this are sent with the explicit "big" flag (the guest's
  // sanity bound is 1 s by default): a long pause is real, not garbage.
  int64_t big_step_ns = 1'000'000'000;
};

// NTP-style offset over the companion (guest minus host).
Result<OffsetEstimate> measure_companion(CompanionChannel& ch, const TimeSource& time, const MeasureOptions& o);

Result<SyncReport> sync_via_companion(CompanionChannel& ch, QemuMonitorChannel* monitor, const TimeSource& time,
                                      const SyncOptions& options, const CompanionSyncOptions& co);

}  // namespace migclock::agent_sync
