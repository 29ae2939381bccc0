// Per-VM memory of guest-set-time's send-to-apply delay.
//
// Every step's residual implies the delay (SyncReport::learned_apply_delay_ns),
// but on a busy host one sample can be off by milliseconds. The tracker keeps
// the last few and hands out their median as the next sync's hint, so a single
// slow call does not make the next sync overshoot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace migclock::agent_sync {

class ApplyDelayTracker {
 public:
  explicit ApplyDelayTracker(std::size_t window = 15) : window_(window == 0 ? 1 : window) {}

  void record(const std::string& vm_id, int64_t learned_delay_ns);
  // The median of the VM's recent delays; nullopt before the first record.
  std::optional<int64_t> hint(const std::string& vm_id) const;
  // 1.4826 * the median absolute deviation of the recent delays (a robust
  // standard deviation); nullopt with fewer than 3 records.
  std::optional<int64_t> jitter_ns(const std::string& vm_id) const;
  void forget(const std::string& vm_id);

 private:
  std::size_t window_;
  mutable std::mutex mu_;
  std::map<std::string, std::deque<int64_t>> recent_;
};

}  // namespace migclock::agent_sync
