// Test helpers: a real migclock-agent process, real HTTP over its unix
// socket, and running binaries with exact argv/stdin/environment (as
// libvirt runs hooks).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace migclock::agent::testing {

struct ProcResult {
  int rc = -1;
  std::string out;
  std::string err;
};

// fork + execve with exactly `env`; `as_uid`/`as_gid` drop privileges.
ProcResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text,
                       const std::vector<std::string>& env, std::optional<uid_t> as_uid = std::nullopt,
                       std::optional<gid_t> as_gid = std::nullopt);

struct HttpReply {
  int status = 0;  // 0: no connection
  std::string body;
  std::string error;
};
HttpReply http_request(const std::string& socket, const std::string& method, const std::string& target,
                       const std::string& body = "");

class AgentProcess {
 public:
  // Starts MIGCLOCK_AGENT_BIN with `args`, logging to `log`, and waits until
  // `socket` answers /healthz (or the timeout passes: started() false).
  AgentProcess(std::vector<std::string> args, std::string socket, std::string log,
               std::chrono::seconds timeout = std::chrono::seconds(20));
  ~AgentProcess();
  bool started() const { return started_; }
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  std::string log_text() const;
  // The last `lines` lines of the log: what a failing test prints, since CI
  // keeps only the head and tail of a long output.
  std::string log_tail(size_t lines = 40) const;
  // Waits until the log contains `needle` (from offset `from`).
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout, size_t from = 0) const;
  // SIGTERM and wait: the exit status (or -1).
  int stop();
  // A metric's value from /metrics (first sample line starting with `name `).
  std::optional<double> metric(const std::string& name) const;

 private:
  pid_t pid_ = -1;
  std::string socket_;
  std::string log_;
  bool started_ = false;
};

// A real migclock-controller for the agent tests: plain HTTP, loopback only.
// A token of `scope` made in `data_dir` ("" when that failed); an agent
// token is bound to `host`.
std::string create_controller_token(const std::string& controller_bin, const std::string& data_dir,
                                    const std::string& scope, const std::string& host = "");
// Starts the controller on 127.0.0.1:port, logging to `log`; its pid.
pid_t start_plain_controller(const std::string& controller_bin, int port, const std::string& data_dir,
                             const std::string& log);
// SIGTERM and reap (no-op for pid <= 0).
void stop_process(pid_t pid);
// A request to it with a bearer token (net::Client): the body, "" on no answer.
std::string controller_request(int port, const std::string& token, const std::string& target,
                               const std::string& method = "GET");

// `virsh migrate --live` of domain `name` from one session libvirt daemon
// to another (tools/libvirt-sandbox), QEMU's stream on 127.0.0.1:port. The
// destination XML is the source's migratable XML (metadata included) with
// the source daemon's home replaced by the destination's; it is written to
// home_dst/<name>.in.xml. The shell's exit status: 0 when migrated.
int virsh_migrate_live(const std::string& name, const std::string& uri_src, const std::string& uri_dst,
                       const std::string& home_src, const std::string& home_dst, int port);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

}  // namespace migclock::agent::testing
