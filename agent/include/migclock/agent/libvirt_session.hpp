// The connection to libvirt: the default event loop (registered before any
// connection, as libvirt requires), keepalive, and reconnection when the
// daemon goes away. Lifecycle and guest-agent events are handed to a sink
// as plain DomainEvents; the sink must not block (it queues).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "migclock/agent/libvirt_handles.hpp"
#include "migclock/common/time_source.hpp"

namespace migclock::agent {

struct DomainEvent {
  // migration_iteration: the source's precopy began another pass
  // (VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION): the guest still runs.
  // qmp: QEMU's own STOP or RESUME event, passed on by libvirt with QEMU's
  // timestamp (host realtime when the vCPUs stopped / were about to run).
  enum class Kind { lifecycle, agent_lifecycle, connected, disconnected, migration_iteration, qmp };
  Kind kind = Kind::lifecycle;
  std::string uuid;
  std::string name;
  int event = 0;   // virDomainEventType
  int detail = 0;  // its detail enum
  int agent_state = 0;   // virConnectDomainEventAgentLifecycleState
  int agent_reason = 0;  // virConnectDomainEventAgentLifecycleReason
  int iteration = 0;     // migration_iteration: the pass number (>= 2)
  std::string qmp_event;       // qmp: "STOP" | "RESUME"
  int64_t qmp_realtime_ns = 0;  // qmp: QEMU's timestamp (0: none given)
  int64_t received_mono_ns = 0;  // CLOCK_MONOTONIC_RAW in the callback
};

// "SUSPENDED_MIGRATED", "RESUMED_UNPAUSED", "agent connected", …
std::string describe(const DomainEvent&);

struct LibvirtOptions {
  std::string uri = "qemu:///system";
  int keepalive_interval_s = 5;  // -1 disables keepalive
  unsigned keepalive_count = 3;
  int reconnect_interval_s = 2;
};

class LibvirtSession {
 public:
  using Sink = std::function<void(DomainEvent)>;

  LibvirtSession(LibvirtOptions opts, Sink sink, const TimeSource& time);
  ~LibvirtSession();
  LibvirtSession(const LibvirtSession&) = delete;
  LibvirtSession& operator=(const LibvirtSession&) = delete;

  // Registers the default event loop (once per process), starts the loop
  // and the connection supervisor. Returns after the first connection
  // attempt; a failure there is retried in the background.
  void start();
  void stop();

  bool connected() const { return connected_.load(); }
  // The current connection, or unavailable.
  Result<ConnHandle> connection() const;
  // A new URI or keepalive setting (SIGHUP): reconnects if they changed.
  void reconfigure(const LibvirtOptions& opts);
  std::string uri() const;
  uint64_t reconnects() const { return reconnects_.load(); }

 private:
  static void on_lifecycle(virConnectPtr, virDomainPtr, int event, int detail, void* opaque);
  static void on_agent(virConnectPtr, virDomainPtr, int state, int reason, void* opaque);
  static void on_iteration(virConnectPtr, virDomainPtr, int iteration, void* opaque);
  static void on_qmp(virConnectPtr, virDomainPtr, const char* event, long long seconds, unsigned int micros,
                     const char* details, void* opaque);
  static void on_close(virConnectPtr, int reason, void* opaque);

  Status connect_once();
  void drop_connection();
  void supervise();
  void emit(DomainEvent ev, virDomainPtr dom);

  LibvirtOptions opts_;
  Sink sink_;
  const TimeSource& time_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  ConnHandle conn_;
  int lifecycle_cb_ = -1;
  int agent_cb_ = -1;
  int iteration_cb_ = -1;
  int qmp_cb_ = -1;
  bool lost_ = false;
  bool reconfigure_ = false;
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<bool> ever_connected_{false};
  std::thread loop_thread_;
  std::thread supervisor_;
  int wake_timer_ = -1;
};

}  // namespace migclock::agent
