// migclock-timereport: see timereport.hpp. Needs root (it starts two
// session libvirt daemons through tools/libvirt-sandbox/sandbox.sh).
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "timereport.hpp"

namespace {

const char* kUsage =
    "usage: migclock-timereport [options]\n"
    "Boots the test guest under two session libvirt daemons and measures, via the\n"
    "guest agent (NTP-style), the guest-host wall-clock offset before an event, after\n"
    "it, and after the repair: migclock's sync, `virsh domtime --sync`, and a plain\n"
    "guest-set-time with the host's time (called twice). Prints a table, then JSON.\n"
    "  --events suspend|migration|all   (default all)\n"
    "  --repeats N                      runs per event and repair (default 3)\n"
    "  --suspend-seconds N              (default 3)\n"
    "  --port N                         migration port on 127.0.0.1 (default 49400)\n"
    "  --sandbox DIR                    sandbox root (default /tmp/mctr-<pid>; keep it short)\n"
    "  --keep                           leave the daemons and guest running\n"
    "  --nice N                         renice the sandbox's daemons and QEMU threads and\n"
    "                                   this process to N (e.g. -10): isolation from other load\n"
    "  --json                           print only the JSON\n"
    "  --help\n";

int to_int(const char* flag, const char* v, int lo, int hi) {
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (!end || *end || n < lo || n > hi) {
    throw std::invalid_argument(std::string(flag) + ": expected an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got \"" + v + "\"");
  }
  return static_cast<int>(n);
}

migclock::timereport::Config parse(int argc, char** argv) {
  migclock::timereport::Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--events") {
      const std::string v = value();
      if (v != "suspend" && v != "migration" && v != "all") throw std::invalid_argument("--events: " + v);
      cfg.run_suspend = v != "migration";
      cfg.run_migrate = v != "suspend";
    } else if (a == "--repeats") {
      cfg.repeats = to_int("--repeats", value(), 1, 100);
    } else if (a == "--suspend-seconds") {
      cfg.suspend_seconds = to_int("--suspend-seconds", value(), 1, 600);
    } else if (a == "--port") {
      cfg.migration_port = to_int("--port", value(), 1024, 65535);
    } else if (a == "--sandbox") {
      cfg.sandbox_root = value();
    } else if (a == "--keep") {
      cfg.keep_sandbox = true;
    } else if (a == "--nice") {
      cfg.nice = to_int("--nice", value(), -20, 19);
    } else if (a == "--json") {
      cfg.json_only = true;
    } else {
      throw std::invalid_argument("unknown option " + a);
    }
  }
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  migclock::timereport::Config cfg;
  try {
    cfg = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "migclock-timereport: %s\n%s", e.what(), kUsage);
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "migclock-timereport: must run as root (it starts sandbox libvirt daemons)\n");
    return 1;
  }
  virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});  // errors are read via virGetLastError
  std::signal(SIGPIPE, SIG_IGN);  // a daemon going away must be an error, not a kill
  if (cfg.nice && setpriority(PRIO_PROCESS, 0, *cfg.nice) != 0) {
    std::fprintf(stderr, "migclock-timereport: setpriority(%d): %s\n", *cfg.nice, std::strerror(errno));
    return 1;
  }
  try {
    const auto all = migclock::timereport::run_all(cfg);
    if (!cfg.json_only) std::fputs(migclock::timereport::to_table(all).c_str(), stdout);
    std::puts(migclock::timereport::to_json(cfg, all).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "migclock-timereport: %s\n", e.what());
    return 1;
  }
  return 0;
}
