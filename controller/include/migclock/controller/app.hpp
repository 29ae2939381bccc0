// The assembled controller: store → journal → core → API → HTTPS server,
// plus the phase-timeout reaper (on etcd: only while holding the leader lease). Used by main() and by the tests.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/controller/core.hpp"
#include "migclock/net/router.hpp"

namespace migclock::controller {

struct AppOptions {
  std::string listen = "127.0.0.1:8443";
  std::string data_dir;
  // --store sqlite (data_dir) | etcd (etcd_endpoints, shared by several controllers)
  std::string store = "sqlite";
  std::string etcd_endpoints;  // "http://127.0.0.1:2379,http://..."
  std::string etcd_prefix = "/migclock";
  std::string etcd_ca, etcd_cert, etcd_key;  // https:// endpoints (client certificate optional)
  std::string etcd_user, etcd_password_file;  // etcd auth
  int64_t leader_ttl_s = 5;  // etcd: the phase-timeout sweeper's lease
  int64_t retention_h = 0;   // finished migrations deleted this long after their end; 0: kept
  std::string tls_cert, tls_key;
  bool plain_http = false;  // loopback only
  std::size_t threads = 2;
  int64_t phase_timeout_s = 600;
  int64_t read_timeout_ms = 10'000;
  int64_t reaper_interval_ms = 250;
};

// An exclusive flock on DATA_DIR/controller.lock (which holds the owner's
// PID), held while this object lives. acquire() fails with a message
// naming the holder's PID when another process has it.
class DataDirLock {
 public:
  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  Status acquire(const std::string& data_dir);

 private:
  int fd_ = -1;
  std::string path_;
};

class App {
 public:
  explicit App(AppOptions options, const TimeSource& time = SystemTimeSource::instance());
  ~App();
  // Opens the journal, loads state, binds, starts serving. Returns the port.
  Result<uint16_t> start();
  void stop();
  Core& core();
  std::vector<net::RouteInfo> routes() const;  // for the docs/api.md check

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `migclock-controller token create`: stores the hash, returns the secret.
// `host`: the one host an agent token acts for (the CLI requires it for
// scope agent; "" makes a legacy unbound token, as older versions did).
Result<std::string> create_token(const std::string& data_dir, Scope scope, const std::string& label,
                                 const std::string& host = {}, const TimeSource& time = SystemTimeSource::instance());
// The same on any store (--store sqlite|etcd).
struct StoreOptions;
Result<std::string> create_token(const StoreOptions& so, Scope scope, const std::string& label,
                                 const std::string& host = {}, const TimeSource& time = SystemTimeSource::instance());

}  // namespace migclock::controller
