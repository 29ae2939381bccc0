// migclock-guest-companion: the guest end of the agent's precise clock
// channel (docs/guest-companion.md). Answers time queries and applies
// relative steps on its own virtio-serial port, org.migclock.clock.0.
//
// Static (tools/guest/build-guest.sh, or any static g++), so it runs from an
// initramfs as well as under systemd (guest/systemd/).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "migclock/guest/companion.hpp"
#include "migclock/guest/protocol.hpp"
#include "migclock/guest/system.hpp"

using namespace migclock::guest;

namespace {

void usage(FILE* to) {
  std::fprintf(to,
               "usage: migclock-guest-companion [--port DEVICE] [--max-step-ns N] [--dry-run] [--no-nudge]\n"
               "  --port DEVICE     default /dev/virtio-ports/%s\n"
               "  --max-step-ns N   largest |step| without the request's explicit \"big\" (default 1000000000)\n"
               "  --dry-run         validate and answer steps, never apply them\n"
               "  --no-nudge        leave chronyd alone after a step\n",
               kPortName);
}

void nap_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// At each power of two crossed only: a flood of garbage must not become a
// flood of logs.
void log_bad(const CompanionCounters& c, uint64_t overlong, uint64_t& next_log) {
  const uint64_t bad = c.malformed + overlong;
  if (bad < next_log) return;
  while (next_log <= bad) next_log *= 2;
  std::fprintf(stderr, "migclock-guest-companion: %llu malformed line(s) ignored so far\n",
               static_cast<unsigned long long>(bad));
}

// Asks the kernel for SIGIO on this port. virtio_console raises it when
// data arrives and when the host end connects or leaves, which is what
// lets an idle companion sleep instead of polling. SIGIO stays blocked (main)
// and is taken synchronously by sigtimedwait, so it never interrupts a step.
bool arm_sigio(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETOWN, getpid()) == 0 && fcntl(fd, F_SETFL, flags | O_ASYNC) == 0;
}

// No host end connected: wait for one. With SIGIO armed the wait ends when
// the host connects (a signal raised meanwhile stays pending, so none is
// missed); the timeout only bounds the cost of a kernel that never sends it.
// Without SIGIO, poll every millisecond: the agent connects right after a
// resume and is waiting for the first answer.
void wait_for_host(bool sigio) {
  if (!sigio) return nap_ms(1);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGIO);
  const timespec limit{0, 200 * 1000000L};
  sigtimedwait(&set, nullptr, &limit);
}

// Serves one open of the port until a read error. A read of 0 means no host
// end is connected (the virtio console returns EOF instead of blocking).
void serve(int fd, Companion& comp) {
  const bool sigio = arm_sigio(fd);
  char buf[512];
  uint64_t next_log = 1;
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (n == 0) {
      comp.assembler().reset();  // a partial line from a host that left is void
      wait_for_host(sigio);
      continue;
    }
    bool failed = false;
    comp.assembler().feed(buf, static_cast<std::size_t>(n), [&](std::string_view line) {
      if (failed) return;
      const std::string reply = comp.on_line(line);
      if (!reply.empty() && !write_all(fd, reply)) failed = true;
      comp.after_reply();
    });
    log_bad(comp.counters(), comp.assembler().overlong(), next_log);
    if (failed) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string port = std::string("/dev/virtio-ports/") + kPortName;
  CompanionOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      port = argv[++i];
    } else if (a == "--max-step-ns" && i + 1 < argc) {
      const auto v = parse_i64(argv[++i]);
      if (!v || *v < 0) {
        std::fprintf(stderr, "migclock-guest-companion: --max-step-ns wants a non-negative integer\n");
        return 2;
      }
      options.max_step_ns = *v;
    } else if (a == "--dry-run") {
      options.dry_run = true;
    } else if (a == "--no-nudge") {
      options.nudge = false;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGCHLD, SIG_IGN);  // the nudge's children reap themselves
  LinuxSystem sys;
  Companion comp(sys, options);
  std::fprintf(stderr, "migclock-guest-companion: protocol %s on %s%s\n", kVersionTag, port.c_str(),
               options.dry_run ? " (dry run)" : "");
  sigset_t sigio;
  sigemptyset(&sigio);
  sigaddset(&sigio, SIGIO);
  sigprocmask(SIG_BLOCK, &sigio, nullptr);  // taken by sigtimedwait only (wait_for_host)
  for (;;) {
    const int fd = open(port.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {  // the port may appear late (module load, udev)
      nap_ms(100);
      continue;
    }
    serve(fd, comp);
    close(fd);
    nap_ms(50);
  }
}
