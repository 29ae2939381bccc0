// docs/monitoring: the alert rules pass `promtool check rules`; every metric
// a rule or a dashboard panel queries is in the /metrics of a real agent and
// a real controller; a real Prometheus scraping both evaluates every rule
// and answers every dashboard query without error. The agent serves /metrics on its unix socket only, so the
// test bridges a loopback TCP port to it (operators use node_exporter's
// textfile collector instead: docs/operations.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include "agent_process.hpp"

namespace fs = std::filesystem;
using namespace migclock::agent::testing;

namespace {

std::string source(const std::string& rel) { return read_text(std::string(MIGCLOCK_SOURCE_DIR) + "/" + rel); }

std::set<std::string> queried_metrics(const std::string& text) {
  static const std::regex name("migclock_[a-z0-9_]+");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it)
    out.insert(it->str());
  return out;
}

// Sample names of a Prometheus text exposition (histograms: _bucket, _sum, _count).
std::set<std::string> exported_metrics(const std::string& exposition) {
  std::set<std::string> out;
  size_t at = 0;
  while (at < exposition.size()) {
    size_t end = exposition.find('\n', at);
    if (end == std::string::npos) end = exposition.size();
    const std::string line = exposition.substr(at, end - at);
    if (!line.empty() && line[0] != '#') out.insert(line.substr(0, line.find_first_of("{ ")));
    at = end + 1;
  }
  return out;
}

// Loopback TCP → the agent's unix socket, one connection at a time (a
// scraper's). Closes when destroyed.
class UnixBridge {
 public:
  explicit UnixBridge(std::string socket) : socket_(std::move(socket)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~UnixBridge() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const int agent = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un u{};
      u.sun_family = AF_UNIX;
      socket_.copy(u.sun_path, sizeof u.sun_path - 1);
      if (::connect(agent, reinterpret_cast<sockaddr*>(&u), sizeof u) == 0) pump(client, agent);
      ::close(agent);
      ::close(client);
    }
  }
  void pump(int a, int b) {
    char buf[65536];
    while (!stop_) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 100) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n <= 0 || ::write(p[1 - i].fd, buf, static_cast<size_t>(n)) != n) return;
      }
    }
  }
  std::string socket_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A real controller and one real agent registered with it (clock offset
// measured), as in tests/agent/owned_vmm_test.cpp.
class Monitoring : public ::testing::Test {
 protected:
  static inline std::string root, agent_token, read_token, setup_failure;
  static inline int ctl_port = 0;
  static inline pid_t controller = -1;
  static inline std::unique_ptr<AgentProcess> agent;

  static void SetUpTestSuite() {
    root = "/tmp/mcmon-" + std::to_string(getpid());
    ctl_port = 19700 + getpid() % 500;
    fs::create_directories(root + "/ctl");
    agent_token = create_controller_token(MIGCLOCK_CONTROLLER_BIN, root + "/ctl", "agent", "hv-mon");
    read_token = create_controller_token(MIGCLOCK_CONTROLLER_BIN, root + "/ctl", "read");
    if (agent_token.empty() || read_token.empty()) { setup_failure = "migclock-controller token create failed"; return; }
    write_text(root + "/agent.token", agent_token + "\n");
    write_text(root + "/read.token", read_token + "\n");
    controller = start_plain_controller(MIGCLOCK_CONTROLLER_BIN, ctl_port, root + "/ctl", root + "/controller.log");
    agent = std::make_unique<AgentProcess>(
        std::vector<std::string>{"--uri", "test:///default", "--socket", root + "/agent.sock", "--state-dir",
                                 root + "/state", "--hostname", "hv-mon", "--controller",
                                 "http://127.0.0.1:" + std::to_string(ctl_port), "--token-file", root + "/agent.token"},
        root + "/agent.sock", root + "/agent.log");
    if (!agent->started()) { setup_failure = "agent: " + agent->log_text(); return; }
    // Registered and offset measured: the per-host series exist.
    for (int i = 0; i < 100; ++i) {
      if (controller_metrics().find("migclock_host_clock_offset_seconds{") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    setup_failure = "no host offset in the controller's /metrics: " + controller_metrics();
  }
  static void TearDownTestSuite() {
    agent.reset();
    stop_process(controller);
    fs::remove_all(root);
  }
  void SetUp() override {
    if (!setup_failure.empty()) FAIL() << setup_failure;
  }
  static std::string controller_metrics() { return controller_request(ctl_port, read_token, "/metrics"); }
};

TEST_F(Monitoring, PromtoolChecksTheRules) {
  if (system("command -v promtool >/dev/null") != 0) GTEST_SKIP() << "promtool missing (Debian package prometheus)";
  const auto r = run_process({"/bin/sh", "-c", "promtool check rules \"$0\"",
                              std::string(MIGCLOCK_SOURCE_DIR) + "/docs/monitoring/alerts.yml"},
                             "", {"PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << r.out;
}

TEST_F(Monitoring, EveryQueriedMetricIsExported) {
  const auto agent_reply = http_request(agent->socket(), "GET", "/metrics");
  ASSERT_EQ(agent_reply.status, 200) << agent_reply.error;
  std::set<std::string> exported = exported_metrics(agent_reply.body);
  const auto ctl = exported_metrics(controller_metrics());
  ASSERT_TRUE(ctl.count("migclock_migrations")) << "controller /metrics unreadable";
  exported.insert(ctl.begin(), ctl.end());
  for (const char* file : {"docs/monitoring/alerts.yml", "docs/monitoring/dashboard.json"}) {
    const auto queried = queried_metrics(source(file));
    EXPECT_GE(queried.size(), 8u) << file << ": too few metrics found; did the file move?";
    for (const auto& m : queried) EXPECT_TRUE(exported.count(m)) << file << " queries " << m << ", which nobody exports";
  }
}

// Prometheus 2.x: /api/v1/rules reports each rule's health after evaluation.
TEST_F(Monitoring, PrometheusEvaluatesEveryRule) {
  if (system("command -v prometheus >/dev/null") != 0) GTEST_SKIP() << "prometheus missing (Debian package prometheus)";
  UnixBridge bridge(agent->socket());
  ASSERT_GT(bridge.port(), 0);
  const int prom_port = 20300 + getpid() % 500;
  const std::string dir = root + "/prom";
  fs::create_directories(dir);
  fs::copy_file(std::string(MIGCLOCK_SOURCE_DIR) + "/docs/monitoring/alerts.yml", dir + "/alerts.yml");
  write_text(dir + "/prometheus.yml",
             "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
             "rule_files: [" + dir + "/alerts.yml]\n"
             "scrape_configs:\n"
             "  - job_name: migclock-controller\n"
             "    authorization: {credentials_file: " + root + "/read.token}\n"
             "    static_configs: [{targets: ['127.0.0.1:" + std::to_string(ctl_port) + "']}]\n"
             "  - job_name: migclock-agent\n"
             "    static_configs: [{targets: ['127.0.0.1:" + std::to_string(bridge.port()) + "']}]\n");
  const pid_t prom = fork();
  if (prom == 0) {
    if (!freopen((dir + "/prometheus.log").c_str(), "w", stdout) || !freopen((dir + "/prometheus.log").c_str(), "a", stderr))
      _exit(126);
    const std::string cfg = "--config.file=" + dir + "/prometheus.yml", data = "--storage.tsdb.path=" + dir + "/data",
                      web = "--web.listen-address=127.0.0.1:" + std::to_string(prom_port);
    execlp("prometheus", "prometheus", cfg.c_str(), data.c_str(), web.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto api = [&](const std::string& path) {
    return run_process({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(prom_port) + path}, "",
                       {"PATH=/usr/bin:/bin"})
        .out;
  };
  const std::string yml = source("docs/monitoring/alerts.yml");
  size_t want_rules = 0;
  for (size_t at = yml.find("- alert:"); at != std::string::npos; at = yml.find("- alert:", at + 1)) ++want_rules;
  auto count = [](const std::string& s, const std::string& needle) {
    size_t n = 0;
    for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  };
  // Both targets up (several scrapes in) and every rule evaluated with health ok.
  std::string rules, targets;
  for (int i = 0; i < 60; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    rules = api("/api/v1/rules");
    targets = api("/api/v1/targets");
    if (count(targets, "\"health\":\"up\"") == 2 && count(rules, "\"health\":\"ok\"") == want_rules) break;
  }
  // Every dashboard query is valid PromQL against these series (Grafana's
  // $__rate_interval stands for a range Prometheus chooses; 1m here).
  const std::string dash = source("docs/monitoring/dashboard.json");
  static const std::regex expr_re("\"expr\": \"((?:[^\"\\\\]|\\\\.)*)\"");
  size_t queries = 0;
  for (auto it = std::sregex_iterator(dash.begin(), dash.end(), expr_re); it != std::sregex_iterator(); ++it) {
    std::string q = std::regex_replace((*it)[1].str(), std::regex("\\$__rate_interval"), "1m");
    q = std::regex_replace(q, std::regex("\\\\\""), "\"");
    const auto r = run_process({"/usr/bin/curl", "-s", "-G", "--data-urlencode", "query=" + q,
                                "http://127.0.0.1:" + std::to_string(prom_port) + "/api/v1/query"},
                               "", {"PATH=/usr/bin:/bin"});
    EXPECT_NE(r.out.find("\"status\":\"success\""), std::string::npos) << q << ": " << r.out;
    ++queries;
  }
  EXPECT_GE(queries, 12u) << "dashboard queries not found";
  kill(prom, SIGTERM);
  waitpid(prom, nullptr, 0);
  EXPECT_EQ(count(targets, "\"health\":\"up\""), 2u) << targets << read_text(dir + "/prometheus.log");
  EXPECT_EQ(count(rules, "\"health\":\"ok\""), want_rules) << rules;
  EXPECT_EQ(rules.find("\"health\":\"err\""), std::string::npos) << "a rule failed to evaluate: " << rules;
  EXPECT_GE(want_rules, 10u);
}

}  // namespace
