#include "migclock/guest/system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace migclock::guest {

namespace {

std::string read_small(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[64];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return {};
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

const char* find_chronyc() {
  static const char* const paths[] = {"/usr/bin/chronyc", "/usr/sbin/chronyc", "/bin/chronyc", "/sbin/chronyc"};
  for (const char* p : paths)
    if (access(p, X_OK) == 0) return p;
  return nullptr;
}

// Runs argv to completion in a child; the caller is itself a throwaway child.
void run_and_wait(const char* const argv[]) {
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);
  }
  if (pid > 0) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace

void LinuxSystem::realtime(int64_t& sec, int64_t& nsec) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  sec = ts.tv_sec;
  nsec = ts.tv_nsec;
}

int LinuxSystem::step(int64_t ns) {
  // ADJ_SETOFFSET adds the offset inside the kernel's timekeeping lock: the
  // step is relative to whatever the clock reads at that instant, so the
  // time the command spent in flight does not enter the result. With
  // ADJ_NANO, time.tv_usec carries nanoseconds; tv_sec may be negative but
  // the sub-second part must be in [0, 1e9).
  timex tx{};
  tx.modes = ADJ_SETOFFSET | ADJ_NANO;
  int64_t sec = ns / 1'000'000'000;
  int64_t sub = ns % 1'000'000'000;
  if (sub < 0) {
    sub += 1'000'000'000;
    sec -= 1;
  }
  tx.time.tv_sec = static_cast<time_t>(sec);
  tx.time.tv_usec = static_cast<suseconds_t>(sub);
  if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) return errno;
  return 0;
}

std::string LinuxSystem::clocksource() {
  return read_small("/sys/devices/system/clocksource/clocksource0/current_clocksource");
}

bool LinuxSystem::process_running(const char* comm) {
  DIR* d = opendir("/proc");
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%.20s/comm", e->d_name);
    if (read_small(path) == comm) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

std::string LinuxSystem::nudge_after_step() {
  // All of it in a throwaway child (reaped by SIGCHLD=SIG_IGN in main): the
  // /proc scan as well, which is slow in a just-migrated TCG guest.
  const pid_t pid = fork();
  if (pid != 0) return pid > 0 ? "nudge-async" : "nudge-fork-failed";
  signal(SIGCHLD, SIG_DFL);
  sigset_t none;  // main blocks SIGIO for its own use; chronyc should not inherit that
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  nudge_now(process_running("chronyd"), process_running("ntpd"));
  _exit(0);
}

std::string LinuxSystem::nudge_now(bool chronyd, bool ntpd) {
  // chronyd: its sample history predates the step and shows the old lag;
  // left alone it would fit a frequency error to it or slew the clock back
  // toward the stale estimate. "reset sources" drops those samples and
  // "burst" takes fresh ones at once. Not "makestep": that steps the clock
  // to chrony's own (stale) estimate, undoing a correct step.
  // ntpd: no comparable knob without ntpq's authenticated mode; its clock
  // filter sees the small new offset at its next poll. Left alone.
  if (chronyd) {
    const char* chronyc = find_chronyc();
    if (!chronyc) return "chronyd-no-chronyc";
    const char* reset[] = {chronyc, "-m", "reset sources", nullptr};
    run_and_wait(reset);
    const char* burst[] = {chronyc, "burst", "4/8", nullptr};
    run_and_wait(burst);
    return "chrony-reset-burst";
  }
  return ntpd ? "ntpd-left" : "none";
}

}  // namespace migclock::guest
