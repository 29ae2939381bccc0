// NTP-style measurement of a guest's wall-clock offset through its agent.
//
// One sample is three timestamps: the host's CLOCK_REALTIME just before the
// command (t1), the guest's CLOCK_REALTIME from guest-get-time (g), and the
// host's CLOCK_REALTIME just after the reply (t4). Assuming the guest read
// its clock half-way through the round trip,
//     offset = g - (t1 + t4) / 2,   rtt = t4 - t1,
// and whatever the path asymmetry, the true offset lies within ±rtt/2 of that.
// Samples delayed by scheduling have long RTTs, so only the lowest-RTT ones
// are kept and the median of their offsets is reported.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "migclock/agent_sync/guest_agent_channel.hpp"
#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"

namespace migclock::agent_sync {

struct ClockSample {
  int64_t host_before_ns = 0;  // t1, host CLOCK_REALTIME
  int64_t guest_ns = 0;        // guest CLOCK_REALTIME (µs resolution from qemu-ga)
  int64_t host_after_ns = 0;   // t4, host CLOCK_REALTIME

  int64_t rtt_ns() const { return host_after_ns - host_before_ns; }
  // guest minus host: negative when the guest lags.
  int64_t offset_ns() const { return guest_ns - (host_before_ns + (host_after_ns - host_before_ns) / 2); }
};

struct OffsetEstimate {
  int64_t median_offset_ns = 0;  // guest - host, median of the kept samples
  int64_t spread_ns = 0;         // max - min offset among the kept samples
  int64_t min_rtt_ns = 0;
  int64_t median_rtt_ns = 0;     // of the kept samples
  // The measurement's own uncertainty: the half-width within which the true
  // offset lies for any path asymmetry (min RTT / 2), and the statistical
  // scatter of the median (1.4826 * MAD / sqrt(kept)).
  int64_t asymmetry_bound_ns = 0;
  int64_t statistical_ns = 0;
  std::size_t samples_taken = 0;
  std::size_t samples_kept = 0;
  int64_t measured_at_host_ns = 0;  // t4 of the last sample
};

struct MeasureOptions {
  std::size_t samples = 8;  // round trips per measurement (the minimum, when adaptive)
  std::size_t keep = 4;     // lowest-RTT samples kept
  std::chrono::milliseconds command_timeout{2000};
  // Adaptive sampling: past `samples`, keep taking round trips until the
  // lowest RTT bounds the asymmetry within `stop_bound_ns` (min RTT / 2),
  // `max_samples` were taken, or `budget` has passed since the first. A slow
  // or busy channel then gets more chances at one fast exchange instead of
  // a fixed few. max_samples <= samples: a fixed count (no adaptation).
  std::size_t max_samples = 32;
  int64_t stop_bound_ns = 50'000;
  std::chrono::milliseconds budget{250};
};

// Pure arithmetic over samples. errc::invalid_argument when `samples` is
// empty, `keep` is 0, or a sample has t4 < t1.
Result<OffsetEstimate> estimate_offset(std::vector<ClockSample> samples, std::size_t keep);

// One round trip of guest-get-time, timestamped with `time`.
Result<ClockSample> sample_guest_clock(GuestAgentChannel& channel, const TimeSource& time,
                                       std::chrono::milliseconds timeout);

// options.samples round trips (more, up to max_samples, while the asymmetry
// bound is above stop_bound_ns and the budget lasts), then estimate_offset.
Result<OffsetEstimate> measure_offset(GuestAgentChannel& channel, const TimeSource& time,
                                      const MeasureOptions& options);

}  // namespace migclock::agent_sync
