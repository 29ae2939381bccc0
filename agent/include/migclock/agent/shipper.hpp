// The agent's hand-off to the controller (docs/protocol.md), a component of
// its own: one thread ships (heartbeat and clock offset, the outbox, the
// destination's sync reports and command results, each retried), another
// long-polls for commands (protocol §4). Nothing else waits on either: the
// outbox on disk is the queue, so a controller outage or an agent restart
// loses nothing. Each thread has its own ControllerLink (net::Client is not
// thread-safe).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "migclock/agent/controller_link.hpp"
#include "migclock/agent/host_profile.hpp"
#include "migclock/agent/inventory.hpp"
#include "migclock/agent/metrics.hpp"
#include "migclock/agent/outbox.hpp"
#include "migclock/agent/sync_types.hpp"
#include "migclock/common/time_source.hpp"

namespace migclock::agent {

class Shipper {
 public:
  // What the shipper reads of the agent; every reference outlives it.
  struct Parts {
    const TimeSource& time;
    Outbox& outbox;
    const Inventory& inventory;
    const HostProfile& host;
    Metrics& metrics;
    std::function<int()> retry_s;                             // outbox_retry_s, as configured now
    std::function<Status(const ControllerCommand&)> execute;  // a command, handed to the agent
  };

  Shipper(ControllerSettings settings, Parts parts);
  ~Shipper();
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  // Registers right away (a destination must be known before the first
  // migration reaches it), then every round.
  void start();
  void stop();
  // Ship now rather than at the next retry (a capture landed in the outbox).
  void wake();
  // A live migration's destination sync: closes its migration record.
  void report_sync(const std::string& uuid, const std::string& name, const SyncOutcome& o);
  // A controller command's result (with the sync's outcome when it ran one).
  void report_command(const std::string& id, bool ok, const std::string& message,
                      std::optional<SyncOutcome> outcome);

 private:
  struct CommandReport {
    std::string id;
    bool ok = false;
    std::string message;
    std::optional<SyncOutcome> outcome;
    int attempts = 0;
  };
  struct SyncReport {
    std::string uuid, name;
    SyncOutcome outcome;
    int attempts = 0;
  };

  void ship_loop();
  void ship_once();
  bool heartbeat(bool sync_reports_waiting);
  void ship_outbox();
  void ship_reports();
  void poll_loop();
  bool stopping();

  Parts parts_;
  ControllerLink link_;       // the shipper thread's
  ControllerLink poll_link_;  // the poller thread's
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool ship_now_ = false;
  std::deque<SyncReport> reports_;
  std::deque<CommandReport> command_reports_;
  int64_t last_heartbeat_mono_ns_ = 0;  // shipper thread only
  std::thread shipper_;
  std::thread poller_;
};

}  // namespace migclock::agent
