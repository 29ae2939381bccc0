// Waiting for a guest agent that is not connected yet, without outliving
// the event that asked for the sync.
//
// After a resume or an incoming migration the agent channel reconnects a
// moment later (libvirt's agent-lifecycle event). The sync retries while the
// channel answers errc::unavailable, up to a bound (default 60 s), and stops
// at once when a newer event for the same VM supersedes it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "migclock/agent_sync/clock_sync.hpp"

namespace migclock::agent_sync {

// Cancelled by whoever holds the other end (SupersedingGate, or a caller
// shutting down). Waiting on it wakes early on cancellation.
class CancelToken {
 public:
  void cancel();
  bool cancelled() const;
  // Ends a wait_for early without cancelling: "try again now" (the guest
  // agent just connected).
  void wake();
  // Sleeps up to `d`; returns true if cancelled (before or during the wait).
  bool wait_for(std::chrono::nanoseconds d) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool cancelled_ = false;
  uint64_t wakes_ = 0;
};

// One token per VM: begin(vm) cancels the previous token of that VM and
// returns a fresh one, so only the newest event's sync keeps running.
class SupersedingGate {
 public:
  std::shared_ptr<CancelToken> begin(const std::string& vm_id);
  // Drops the VM's entry if `token` is still its newest (call when done).
  void finish(const std::string& vm_id, const std::shared_ptr<CancelToken>& token);
  // Wakes the VM's newest token (CancelToken::wake), if any.
  void nudge(const std::string& vm_id);
  std::size_t active() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<CancelToken>> latest_;
};

struct RetryOptions {
  std::chrono::milliseconds deadline{60'000};   // from the first attempt
  std::chrono::milliseconds interval{100};      // between attempts
};

struct RetriedSync {
  SyncReport report;
  int attempts = 0;
  // monotonic_raw: first attempt, and the attempt that found the agent up.
  int64_t first_attempt_ns = 0;
  int64_t connected_at_ns = 0;
};

// Runs sync_guest_clock until it succeeds, fails with anything but
// errc::unavailable (returned as is), the deadline passes (errc::timeout,
// carrying the last error), or `cancel` fires (errc::conflict: "superseded").
Result<RetriedSync> sync_when_agent_connects(GuestAgentChannel& agent, QemuMonitorChannel* monitor,
                                              const TimeSource& time, const SyncOptions& options,
                                              const RetryOptions& retry, const CancelToken& cancel);

}  // namespace migclock::agent_sync
