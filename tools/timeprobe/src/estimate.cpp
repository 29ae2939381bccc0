#include "migclock/timeprobe/estimate.hpp"

#include <algorithm>
#include <cstdlib>

namespace migclock::timeprobe {

int64_t median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

std::optional<Estimate> estimate(std::vector<Exchange> xs, std::size_t keep) {
  if (xs.empty()) return std::nullopt;
  Estimate e;
  e.total = xs.size();
  std::stable_sort(xs.begin(), xs.end(), [](const Exchange& a, const Exchange& b) { return a.rtt_ns() < b.rtt_ns(); });
  xs.resize(std::min(xs.size(), std::max<std::size_t>(keep, 1)));
  e.used = xs.size();
  std::vector<int64_t> offsets;
  for (const auto& x : xs) offsets.push_back(x.offset_ns());
  e.offset_ns = median(offsets);
  e.min_rtt_ns = xs.front().rtt_ns();
  e.asymmetry_ns = (e.min_rtt_ns + 1) / 2;  // round up: a bound
  for (int64_t o : offsets) e.scatter_ns = std::max(e.scatter_ns, std::abs(o - e.offset_ns));
  e.uncertainty_ns = e.asymmetry_ns + e.scatter_ns;
  e.host_ns = xs.front().t1_ns + e.min_rtt_ns / 2;
  return e;
}

std::optional<int64_t> time_to_within(const std::vector<TimedOffset>& points, int64_t bound_ns) {
  std::optional<int64_t> since;
  for (const auto& p : points) {
    if (std::abs(p.offset_ns) <= bound_ns) {
      if (!since) since = p.since_resume_ns;
    } else {
      since.reset();
    }
  }
  return since;
}

}  // namespace migclock::timeprobe
