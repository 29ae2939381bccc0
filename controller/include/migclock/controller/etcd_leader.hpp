// One controller at a time sweeps phase timeouts when several share etcd:
// the one holding <prefix>/leader, a key bound to its lease. The holder
// renews the lease every TTL/3; if it dies (kill -9) the lease expires and
// another controller takes the key within the TTL. A controller stopping
// cleanly revokes its lease, so the duty moves at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "migclock/controller/etcd_store.hpp"

namespace migclock::controller {

class EtcdLeader {
 public:
  // `name` identifies this controller in the key (host:port, pid).
  EtcdLeader(EtcdStore& store, std::string name, int64_t ttl_s);
  ~EtcdLeader();
  void start();
  void stop();  // revokes the lease if held
  // True while this controller holds the key and its lease was renewed
  // within the last TTL/2 (a stale holder stops sweeping before another
  // one can start).
  bool is_leader() const;
  std::string key() const { return store_.options().prefix + "/leader"; }

 private:
  void run();
  bool step();  // one round: grant/renew lease, take or check the key

  EtcdStore& store_;
  std::string name_;
  int64_t ttl_s_;
  int64_t lease_ = 0;
  std::atomic<bool> holding_{false};
  std::atomic<int64_t> renewed_ns_{0};  // steady clock of the last renewal
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace migclock::controller
