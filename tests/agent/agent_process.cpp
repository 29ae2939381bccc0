#include "agent_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "migclock/net/client.hpp"

namespace migclock::agent::testing {

namespace http = boost::beast::http;
using local = boost::asio::local::stream_protocol;

std::string create_controller_token(const std::string& controller_bin, const std::string& data_dir,
                                    const std::string& scope, const std::string& host) {
  std::vector<std::string> argv{controller_bin, "token", "create", "--data-dir", data_dir, "--scope", scope};
  if (!host.empty()) argv.insert(argv.end(), {"--host", host});
  const auto r = run_process(argv, "", {"PATH=/usr/bin:/bin"});
  if (r.rc != 0) return "";
  const std::string token = r.out.substr(0, r.out.find('\n'));
  return token.size() < 8 ? "" : token;
}

pid_t start_plain_controller(const std::string& controller_bin, int port, const std::string& data_dir,
                             const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(log.c_str(), "w", stdout) || !freopen(log.c_str(), "a", stderr)) _exit(126);
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    execl(controller_bin.c_str(), controller_bin.c_str(), "--listen", listen.c_str(), "--data-dir", data_dir.c_str(),
          "--plain-http", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

void stop_process(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

std::string controller_request(int port, const std::string& token, const std::string& target,
                               const std::string& method) {
  // The project's own client (net/), not curl: no undeclared tool dependency.
  net::Client client({"http://127.0.0.1:" + std::to_string(port), {}, token});
  const auto r = client.request(method, target, {}, /*content_type=*/"");  // no body: no Content-Type
  return r ? r->body : std::string();
}

int virsh_migrate_live(const std::string& name, const std::string& uri_src, const std::string& uri_dst,
                       const std::string& home_src, const std::string& home_dst, int port) {
  const std::string dxml = home_dst + "/" + name + ".in.xml";
  const std::string xml = "virsh -q -c '" + uri_src + "' dumpxml --migratable " + name + " | sed 's|" + home_src +
                          "|" + home_dst + "|g' > " + dxml + " && chmod 644 " + dxml;
  if (const int rc = std::system(xml.c_str()); rc != 0) return rc;
  const std::string migrate = "virsh -q -c '" + uri_src + "' migrate --live " + name + " '" + uri_dst +
                              "' --migrateuri tcp://127.0.0.1:" + std::to_string(port) + " --xml " + dxml +
                              " >/dev/null";
  return std::system(migrate.c_str());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

namespace {
std::string drain(int fd) {
  std::string s;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}
}  // namespace

ProcResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text,
                       const std::vector<std::string>& env, std::optional<uid_t> as_uid, std::optional<gid_t> as_gid) {
  int in[2], out[2], err[2];
  if (pipe(in) || pipe(out) || pipe(err)) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    if (as_gid && setgid(*as_gid) != 0) _exit(126);
    if (as_uid && (setgroups(0, nullptr), setuid(*as_uid) != 0)) _exit(126);
    std::vector<char*> a, e;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // The writer runs beside the readers so a large XML never deadlocks.
  std::thread writer([&] {
    size_t off = 0;
    while (off < stdin_text.size()) {
      const ssize_t n = write(in[1], stdin_text.data() + off, stdin_text.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(in[1]);
  });
  ProcResult r;
  std::thread errt([&] { r.err = drain(err[0]); });
  r.out = drain(out[0]);
  errt.join();
  writer.join();
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

HttpReply http_request(const std::string& socket, const std::string& method, const std::string& target,
                       const std::string& body) {
  HttpReply r;
  boost::asio::io_context io;
  local::socket sock(io);
  boost::system::error_code ec;
  sock.connect(local::endpoint(socket), ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "agent");
  req.keep_alive(false);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(sock, req, ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res, ec);
  if (ec) {
    r.error = ec.message();
    return r;
  }
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  return r;
}

AgentProcess::AgentProcess(std::vector<std::string> args, std::string socket, std::string log,
                           std::chrono::seconds timeout)
    : socket_(std::move(socket)), log_(std::move(log)) {
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> a;
    std::string bin = MIGCLOCK_AGENT_BIN;
    a.push_back(bin.data());
    for (auto& s : args) a.push_back(s.data());
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (http_request(socket_, "GET", "/healthz").status == 200) {
      started_ = true;
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

AgentProcess::~AgentProcess() { stop(); }

std::string AgentProcess::log_text() const { return read_text(log_); }

std::string AgentProcess::log_tail(size_t lines) const {
  const std::string t = log_text();
  size_t at = t.size();
  for (size_t n = 0; at > 0 && n <= lines; ++n) {
    const size_t nl = t.rfind('\n', at - 1);
    if (nl == std::string::npos) return t;
    at = nl;
    if (n == lines) return "[…]" + t.substr(at);
  }
  return t;
}

bool AgentProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout, size_t from) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string t = log_text();
    if (t.size() > from && t.find(needle, from) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int AgentProcess::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::optional<double> AgentProcess::metric(const std::string& name) const {
  const auto r = http_request(socket_, "GET", "/metrics");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

}  // namespace migclock::agent::testing
