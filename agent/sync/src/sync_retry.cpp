#include "migclock/agent_sync/sync_retry.hpp"

namespace migclock::agent_sync {

void CancelToken::cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void CancelToken::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

bool CancelToken::wait_for(std::chrono::nanoseconds d) const {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t wakes = wakes_;
  cv_.wait_for(lock, d, [&] { return cancelled_ || wakes_ != wakes; });
  return cancelled_;
}

std::shared_ptr<CancelToken> SupersedingGate::begin(const std::string& vm_id) {
  auto fresh = std::make_shared<CancelToken>();
  std::shared_ptr<CancelToken> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = latest_[vm_id];
    previous = std::move(slot);
    slot = fresh;
  }
  if (previous) previous->cancel();
  return fresh;
}

void SupersedingGate::finish(const std::string& vm_id, const std::shared_ptr<CancelToken>& token) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = latest_.find(vm_id);
  if (it != latest_.end() && it->second == token) latest_.erase(it);
}

void SupersedingGate::nudge(const std::string& vm_id) {
  std::shared_ptr<CancelToken> token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = latest_.find(vm_id);
    if (it != latest_.end()) token = it->second;
  }
  if (token) token->wake();
}

std::size_t SupersedingGate::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_.size();
}

Result<RetriedSync> sync_when_agent_connects(GuestAgentChannel& agent, QemuMonitorChannel* monitor,
                                              const TimeSource& time, const SyncOptions& options,
                                              const RetryOptions& retry, const CancelToken& cancel) {
  RetriedSync out;
  out.first_attempt_ns = time.monotonic_raw_ns();
  const int64_t deadline_ns =
      out.first_attempt_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(retry.deadline).count();
  Error last = make_error(errc::unavailable, "guest agent not connected");
  for (;;) {
    if (cancel.cancelled()) return make_error(errc::conflict, "guest clock sync superseded by a newer event");
    ++out.attempts;
    const int64_t attempt_ns = time.monotonic_raw_ns();
    auto r = sync_guest_clock(agent, monitor, time, options);
    if (r) {
      out.connected_at_ns = attempt_ns;
      out.report = std::move(r.value());
      return out;
    }
    if (r.error().code != make_error_code(errc::unavailable)) return r.error();
    last = r.error();
    if (time.monotonic_raw_ns() >= deadline_ns) {
      return make_error(errc::timeout, "guest agent did not connect within " + std::to_string(retry.deadline.count()) +
                                           " ms (last: " + last.message() + ")");
    }
    if (cancel.wait_for(retry.interval)) {
      return make_error(errc::conflict, "guest clock sync superseded by a newer event");
    }
  }
}

}  // namespace migclock::agent_sync
