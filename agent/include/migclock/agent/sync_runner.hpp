// Runs guest clock syncs in the background, one at a time per VM: a newer
// request for the same VM cancels the older one (agent_sync's
// SupersedingGate), each waits for the guest agent up to a bound, and
// nothing here can fail or block the libvirt operation that triggered it.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "migclock/agent/libvirt_handles.hpp"
#include "migclock/agent/qga_bias.hpp"
#include "migclock/agent/sync_types.hpp"
#include "migclock/agent_sync/apply_delay_memory.hpp"
#include "migclock/agent_sync/sync_retry.hpp"
#include "migclock/common/time_source.hpp"

namespace migclock::agent {

struct SyncRequest {
  std::string uuid;
  std::string name;
  SyncCause cause;
  // The companion's socket as the inventory knows it: no live XML read
  // (which waited 40 ms for libvirt right after a migration) when set.
  std::string companion_socket;
  // Learn qemu-ga's bias from this VM's companion syncs (the global
  // qga_bias_from_companion), and remove it from this VM's qemu-ga syncs
  // (its own setting); agent/qga_bias.hpp.
  bool qga_learn = false;
  bool qga_bias = false;
  agent_sync::SyncOptions options;
  agent_sync::RetryOptions retry;
  int64_t uncertainty_limit_ns = 100'000;  // for the verdict (sync_verdict.hpp)
  int64_t event_mono_ns = 0;  // when the triggering event arrived
  std::string target_mode = "domain_clock";  // config sync_target, as chosen (options.target says where)
  // Runs on the sync's own thread before it waits for the guest agent, and
  // may block briefly: continuity after a migration fetches the source's
  // snapshot from the controller here (bounded by continuity_wait_ms), and
  // sets options.target (or a fallback with its reason).
  std::function<void(SyncRequest&)> prepare;
};

class SyncRunner {
 public:
  using Done = std::function<void(const SyncRequest&, const SyncOutcome&)>;

  SyncRunner(const TimeSource& time, Done done) : time_(time), done_(std::move(done)) {}
  ~SyncRunner() { stop(); }

  // Starts a sync for the VM, superseding any running one.
  void request(ConnHandle conn, SyncRequest req);
  // Cancels the VM's running sync (domain stopped, paused again, …).
  void cancel(const std::string& uuid);
  // The VM's guest agent connected: a sync waiting for it retries now.
  void nudge(const std::string& uuid) { gate_.nudge(uuid); }
  void stop();
  size_t active() const { return gate_.active(); }
  // qemu-ga's bias on this host as learned so far (metrics, logs).
  std::optional<QgaBias::Estimate> qga_bias() const { return qga_bias_.estimate(); }
  std::size_t qga_bias_samples() const { return qga_bias_.samples(); }

 private:
  void run(const ConnHandle& conn, SyncRequest req, const std::shared_ptr<agent_sync::CancelToken>& token);
  void reap_finished();
  // After a companion sync: one sample of qemu-ga's bias (qga_bias.hpp).
  void learn_qga_bias(agent_sync::GuestAgentChannel& agent, const agent_sync::SyncReport& companion,
                      const SyncRequest& req);
  static std::string describe(const QgaBias::Estimate& b);

  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  const TimeSource& time_;
  Done done_;
  agent_sync::SupersedingGate gate_;
  // Per VM: guest-set-time's send-to-apply delay learned from earlier syncs,
  // the next sync's starting estimate (and its jitter, the gate for
  // corrections).
  agent_sync::ApplyDelayMemory delays_;
  QgaBias qga_bias_;
  std::mutex mu_;
  std::list<Worker> workers_;
  std::list<std::shared_ptr<agent_sync::CancelToken>> tokens_;
  bool stopped_ = false;
};

SyncOutcome outcome_from(const SyncRequest& req, const Result<agent_sync::RetriedSync>& r, int64_t started_rt,
                         int64_t finished_rt);

}  // namespace migclock::agent
