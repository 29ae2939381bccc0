// The judge's arithmetic: NTP-style offset of a guest clock from exchanges
// over the time-probe channel, and how soon after an event the guest came
// within a bound. Pure functions of their inputs (unit-tested).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace migclock::timeprobe {

// One request/reply: host CLOCK_REALTIME before sending (t1) and after the
// reply arrived (t4), and the guest's CLOCK_REALTIME read in between.
struct Exchange {
  int64_t t1_ns = 0;
  int64_t guest_ns = 0;
  int64_t t4_ns = 0;

  int64_t rtt_ns() const { return t4_ns - t1_ns; }
  // guest − host at the exchange's midpoint: exact when both legs take the
  // same time, off by at most rtt/2 otherwise (the guest read its clock
  // somewhere inside [t1, t4]).
  int64_t offset_ns() const { return guest_ns - (t1_ns + (t4_ns - t1_ns) / 2); }
};

struct Estimate {
  int64_t offset_ns = 0;       // median offset of the kept (lowest-RTT) exchanges
  int64_t min_rtt_ns = 0;
  int64_t asymmetry_ns = 0;    // min RTT / 2: the bound the min-RTT exchange itself carries
  int64_t scatter_ns = 0;      // max |kept offset − offset|
  int64_t uncertainty_ns = 0;  // asymmetry + scatter: the true offset lies within ± this
  int64_t host_ns = 0;         // host time of the min-RTT exchange's midpoint
  std::size_t used = 0;
  std::size_t total = 0;
};

// Keeps the `keep` lowest-RTT exchanges (at least 1) and estimates from
// them. Why this bound holds: the min-RTT exchange m pins the true offset to
// o_m ± rtt_m/2, and the reported median is within `scatter` of o_m.
// nullopt when there are no exchanges.
std::optional<Estimate> estimate(std::vector<Exchange> exchanges, std::size_t keep);

// A point of a watch after an event: time since the event's end (resume),
// and the estimate taken then.
struct TimedOffset {
  int64_t since_resume_ns = 0;
  int64_t offset_ns = 0;
  int64_t uncertainty_ns = 0;
};

// The time from resume until the guest stayed within `bound_ns` for the rest
// of the watch: the first point from which every later point has
// |offset| <= bound. nullopt when the last point is outside (never settled
// within the watch) or there are no points.
std::optional<int64_t> time_to_within(const std::vector<TimedOffset>& points, int64_t bound_ns);

// Median of a non-empty set (the lower middle one for an even count keeps it
// one of the observed values).
int64_t median(std::vector<int64_t> v);

}  // namespace migclock::timeprobe
