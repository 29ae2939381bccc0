#include "migclock/controller/offset_estimate.hpp"

#include <cstdlib>

namespace migclock::controller {

namespace {
int64_t aged_uncertainty(const ClockOffset& o, int64_t now_ns) {
  const int64_t age = now_ns > o.received_ns ? now_ns - o.received_ns : 0;
  return o.uncertainty_ns + age / 1'000'000 * kOffsetDriftPpm;
}
}  // namespace

std::optional<ClockOffset> best_offset(const std::vector<ClockOffset>& history, int64_t now_ns) {
  if (history.empty()) return std::nullopt;
  const ClockOffset& latest = history.back();
  ClockOffset best = latest;
  best.uncertainty_ns = aged_uncertainty(latest, now_ns);
  for (auto it = history.rbegin() + 1; it != history.rend(); ++it) {
    const int64_t u = aged_uncertainty(*it, now_ns);
    // Inconsistent with the latest: a clock was stepped in between, so this
    // one and all older ones describe another clock.
    if (std::llabs(it->offset_ns - latest.offset_ns) > u + latest.uncertainty_ns) break;
    if (u < best.uncertainty_ns) {
      best = *it;
      best.uncertainty_ns = u;
    }
  }
  return best;
}

}  // namespace migclock::controller
