// Real etcd processes (Debian's etcd-server) for the tests: 1 or 3 members
// on free loopback ports, data in a temp dir; killed and removed by the
// destructor. Tests skip, naming the binary, where it is absent.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace migclock::controller {
class EtcdStore;
}

namespace migclock::controller::testing {

class EtcdCluster {
 public:
  // The etcd binary ($MIGCLOCK_ETCD, else etcd on PATH), "" if none.
  static std::string binary();
  // Why tests skip when binary() is "".
  static std::string missing_message();

  EtcdCluster() = default;
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts `n` members and waits until every one serves reads (and the
  // cluster has a leader). "" on success, else why not.
  std::string start(int n = 1);
  // The same with https:// client URLs (this certificate and key; clients
  // trust `ca`).
  std::string start_tls(int n, const std::string& cert, const std::string& key, const std::string& ca);
  // "http://127.0.0.1:P1,http://127.0.0.1:P2,..."
  std::string endpoints() const;
  std::string endpoint(int member) const { return members_.at(static_cast<size_t>(member)).client_url; }
  int size() const { return static_cast<int>(members_.size()); }
  void kill_member(int i);  // SIGKILL and reap
  bool alive(int member) const { return members_.at(static_cast<size_t>(member)).pid > 0; }
  void stop();

 private:
  struct Member {
    std::string name, client_url, peer_url, dir;
    pid_t pid = -1;
  };
  std::string start_members(int n);
  std::string dir_;
  std::vector<Member> members_;
  std::string cert_, key_, ca_;  // TLS client URLs when set
};

// A process-wide single-member etcd for fixtures that only need one
// (started on first use, stopped at exit). nullptr + `why` if it cannot run.
EtcdCluster* shared_etcd(std::string& why);
// A key prefix no other test in this process uses.
std::string unique_etcd_prefix();

// A store on `endpoints` (comma-separated) under `prefix`; nullptr, and a
// test failure naming why, when it does not open.
std::unique_ptr<EtcdStore> open_etcd_store(const std::string& endpoints, const std::string& prefix);

}  // namespace migclock::controller::testing
