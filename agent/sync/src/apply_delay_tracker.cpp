#include "migclock/agent_sync/apply_delay_tracker.hpp"

#include <algorithm>
#include <vector>

namespace migclock::agent_sync {

void ApplyDelayTracker::record(const std::string& vm_id, int64_t learned_delay_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& q = recent_[vm_id];
  q.push_back(learned_delay_ns);
  while (q.size() > window_) q.pop_front();
}

std::optional<int64_t> ApplyDelayTracker::hint(const std::string& vm_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = recent_.find(vm_id);
  if (it == recent_.end() || it->second.empty()) return std::nullopt;
  std::vector<int64_t> v(it->second.begin(), it->second.end());
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];  // upper median: an odd window makes it the median
}

std::optional<int64_t> ApplyDelayTracker::jitter_ns(const std::string& vm_id) const {
  auto centre = hint(vm_id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = recent_.find(vm_id);
  if (!centre || it == recent_.end() || it->second.size() < 3) return std::nullopt;
  std::vector<int64_t> dev;
  for (int64_t d : it->second) dev.push_back(d > *centre ? d - *centre : *centre - d);
  std::nth_element(dev.begin(), dev.begin() + dev.size() / 2, dev.end());
  return static_cast<int64_t>(1.4826 * static_cast<double>(dev[dev.size() / 2]));
}

void ApplyDelayTracker::forget(const std::string& vm_id) {
  std::lock_guard<std::mutex> lock(mu_);
  recent_.erase(vm_id);
}

}  // namespace migclock::agent_sync
