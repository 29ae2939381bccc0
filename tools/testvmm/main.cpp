// migclock-testvmm: a minimal VMM embedding kvm/. Its guest is tiny
// real-mode code that enables kvmclock and reports rdtsc with its pvclock
// fields, so the host computes exactly what the guest reads.
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>

#include "commands.hpp"

namespace {

const char* kUsage =
    "usage: migclock-testvmm <command> [options]   ('<command> --help' for details)\n"
    "\n"
    "  capture --vcpus N (--out FILE | --agent SOCKET) [--name VM] [--run-ms MS] [--json]\n"
    "      boot the guest, run it, pause, capture its clock state, write the\n"
    "      snapshot (FILE.json or FILE.mcs), exit\n"
    "  restore (--in FILE | --agent SOCKET --vm VM) [--mode precise|by-value] [--json] [...]\n"
    "      a new VM in this process: restore, resume, let the guest read its\n"
    "      clocks, print the continuity report\n"
    "  migrate --vcpus N --pause-ms D [--mode precise|by-value] [--agent SOCKET] [--json]\n"
    "      capture in one process, pause D ms, restore in a second process\n"
    "  --agent: the snapshot goes through migclock-agent's local API (owned VMM)\n"
    "\n"
    "exit status: 0 ok, 1 error, 2 usage, 3 snapshot refused, 4 continuity violated\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace migclock::testvmm;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  try {
    if (!std::strcmp(argv[1], "capture")) return cmd_capture(argc - 1, argv + 1);
    if (!std::strcmp(argv[1], "restore")) return cmd_restore(argc - 1, argv + 1);
    if (!std::strcmp(argv[1], "migrate")) return cmd_migrate(argc - 1, argv + 1);
    std::fprintf(stderr, "migclock-testvmm: unknown command '%s'\n%s", argv[1], kUsage);
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "migclock-testvmm %s: %s\n", argv[1], e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "migclock-testvmm %s: %s\n", argv[1], e.what());
    return kExitError;
  }
}
