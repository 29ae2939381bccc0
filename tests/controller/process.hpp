// A child process (the real migclock-controller) with its stdout on a pipe.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "net_test_support.hpp"

namespace migclock::controller::testing {

// The real binary on an ephemeral TLS port with the test certificates.
inline std::vector<std::string> controller_argv(const std::string& dir, const std::string& phase_timeout_s = "3") {
  const auto& certs = migclock::testing::dev_certs();
  return {MIGCLOCK_CONTROLLER_BIN, "--listen", "127.0.0.1:0", "--data-dir", dir, "--tls-cert", certs.cert,
          "--tls-key", certs.key, "--phase-timeout-s", phase_timeout_s, "--log-level", "error"};
}

class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      // Never outlive the test: a test process that dies (a sanitizer
      // abort, a crash) would otherwise leave the controller running with
      // the test's stderr, and whoever reads that output waits for ever.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // it died before the line above
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> a;
      a.reserve(argv.size() + 1);
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  // Reads "listening port=N" from the child's stdout; 0 on failure.
  unsigned short wait_port() {
    char line[256];
    while (out_ && fgets(line, sizeof line, out_)) {
      unsigned p = 0;
      if (sscanf(line, "listening port=%u", &p) == 1) return static_cast<unsigned short>(p);
    }
    return 0;
  }
  // Sends `sig` and reaps; returns the wait status.
  int kill_and_wait(int sig) {
    int st = 0;
    kill(pid_, sig);
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return st;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

}  // namespace migclock::controller::testing
