#include "migclock/agent/qga_bias.hpp"

#include <algorithm>
#include <vector>

namespace migclock::agent {

namespace {
int64_t median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
}  // namespace

bool QgaBias::record(int64_t qga_minus_companion_ns, int64_t qga_bound_ns, int64_t companion_bound_ns,
                     int64_t max_bound_ns) {
  if (qga_bound_ns > max_bound_ns) return false;
  if (qga_minus_companion_ns < -companion_bound_ns || qga_minus_companion_ns > qga_bound_ns + companion_bound_ns)
    return false;
  std::lock_guard<std::mutex> lock(mu_);
  reply_paths_.push_back(qga_bound_ns - qga_minus_companion_ns);
  while (reply_paths_.size() > kKept) reply_paths_.pop_front();
  return true;
}

std::optional<QgaBias::Estimate> QgaBias::estimate() const {
  std::vector<int64_t> v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reply_paths_.size() < kMinSamples) return std::nullopt;
    v.assign(reply_paths_.begin(), reply_paths_.end());
  }
  Estimate e;
  e.samples = v.size();
  e.reply_path_ns = median(v);
  for (auto& x : v) x = x > e.reply_path_ns ? x - e.reply_path_ns : e.reply_path_ns - x;
  e.spread_ns = median(v);
  return e;
}

std::size_t QgaBias::samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reply_paths_.size();
}

}  // namespace migclock::agent
