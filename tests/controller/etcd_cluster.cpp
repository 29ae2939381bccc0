#include "etcd_cluster.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "migclock/controller/etcd_store.hpp"
#include "migclock/net/client.hpp"
#include "net_test_support.hpp"

namespace migclock::controller::testing {

namespace {

// A loopback port nobody listens on now (bound and released: etcd binds it
// next; a clash would fail start() loudly, not flakily pass).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool answers(const std::string& url, const std::string& ca) {
  net::ClientOptions o(url, ca);
  o.timeout = std::chrono::milliseconds(1000);
  net::Client c(o);
  // Linearizable: only once the member has a leader.
  auto r = c.request("POST", "/v3/kv/range", R"({"key":"AA=="})");
  return r.ok() && r->status == 200;
}

}  // namespace

std::string EtcdCluster::binary() {
  if (const char* e = std::getenv("MIGCLOCK_ETCD"); e && *e) return ::access(e, X_OK) == 0 ? e : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  p += ":/usr/bin:/usr/sbin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto colon = p.find(':', start);
    std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && ::access((dir + "/etcd").c_str(), X_OK) == 0) return dir + "/etcd";
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

std::string EtcdCluster::missing_message() {
  return "no etcd binary on PATH (Debian: apt-get install etcd-server; tools/deps/controller.txt lists it)";
}

EtcdCluster::~EtcdCluster() { stop(); }

std::string EtcdCluster::start(int n) { return start_members(n); }

std::string EtcdCluster::start_tls(int n, const std::string& cert, const std::string& key, const std::string& ca) {
  cert_ = cert;
  key_ = key;
  ca_ = ca;
  return start_members(n);
}

std::string EtcdCluster::start_members(int n) {
  const std::string bin = binary();
  if (bin.empty()) return missing_message();
  dir_ = migclock::testing::make_temp_dir("migclock-etcd");
  std::string initial;
  for (int i = 0; i < n; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.client_url = std::string(cert_.empty() ? "http" : "https") + "://127.0.0.1:" + std::to_string(free_port());
    m.peer_url = "http://127.0.0.1:" + std::to_string(free_port());
    m.dir = dir_ + "/" + m.name;
    initial += (i ? "," : "") + m.name + "=" + m.peer_url;
    members_.push_back(m);
  }
  for (auto& m : members_) {
    std::vector<std::string> argv = {bin,
                                     "--name", m.name,
                                     "--data-dir", m.dir,
                                     "--listen-client-urls", m.client_url,
                                     "--advertise-client-urls", m.client_url,
                                     "--listen-peer-urls", m.peer_url,
                                     "--initial-advertise-peer-urls", m.peer_url,
                                     "--initial-cluster", initial,
                                     "--initial-cluster-state", "new",
                                     "--initial-cluster-token", "migclock-test",
                                     // Snapshots are up to 16 MiB, base64 in the gateway's JSON.
                                     "--max-request-bytes", "33554432",
                                     "--heartbeat-interval", "50",
                                     "--election-timeout", "500",
                                     "--log-level", "error",
                                     "--logger", "zap"};
    if (!cert_.empty()) {
      for (const char* a : {"--cert-file"}) argv.push_back(a);
      argv.push_back(cert_);
      argv.push_back("--key-file");
      argv.push_back(key_);
    }
    const std::string log = dir_ + "/" + m.name + ".log";
    pid_t pid = fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> a;
      a.reserve(argv.size() + 1);
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      _exit(127);
    }
    m.pid = pid;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (auto& m : members_) {
    while (!answers(m.client_url, ca_)) {
      int st = 0;
      if (::waitpid(m.pid, &st, WNOHANG) == m.pid) {
        m.pid = -1;
        return "etcd member " + m.name + " exited at start; see " + dir_ + "/" + m.name + ".log";
      }
      if (std::chrono::steady_clock::now() > deadline) return "etcd member " + m.name + " did not answer within 30 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return "";
}

std::string EtcdCluster::endpoints() const {
  std::string out;
  for (const auto& m : members_) out += (out.empty() ? "" : ",") + m.client_url;
  return out;
}

void EtcdCluster::kill_member(int i) {
  auto& m = members_.at(static_cast<size_t>(i));
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGKILL);
  ::waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

void EtcdCluster::stop() {
  for (int i = 0; i < size(); ++i) kill_member(i);
  members_.clear();
  if (!dir_.empty()) {
    std::string cmd = "rm -rf " + dir_;
    (void)std::system(cmd.c_str());
    dir_.clear();
  }
}

EtcdCluster* shared_etcd(std::string& why) {
  static std::unique_ptr<EtcdCluster> cluster;
  static std::string failed;
  if (!cluster && failed.empty()) {
    auto c = std::make_unique<EtcdCluster>();
    failed = c->start(1);
    if (failed.empty()) {
      cluster = std::move(c);
      // Static destruction kills it at exit; PDEATHSIG covers a crash.
    }
  }
  why = failed;
  return cluster.get();
}

std::string unique_etcd_prefix() {
  static std::atomic<int> n{0};
  return "/t" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

std::unique_ptr<EtcdStore> open_etcd_store(const std::string& endpoints, const std::string& prefix) {
  EtcdOptions o;
  o.endpoints = parse_etcd_endpoints(endpoints).value();
  o.prefix = prefix;
  auto s = EtcdStore::open(o);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace migclock::controller::testing
