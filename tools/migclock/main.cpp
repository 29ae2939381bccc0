// migclock: the host-side CLI. Verbs live in verb_*.cpp.
#include <cstdio>
#include <cstring>
#include <exception>

#include "verb.hpp"

namespace migclock::cli {
std::map<std::string, Verb>& verbs() {
  static std::map<std::string, Verb> table;
  return table;
}
}  // namespace migclock::cli

namespace {
void usage(FILE* out) {
  std::fprintf(out, "usage: migclock <verb> [args...]\n\nverbs:\n");
  for (const auto& [name, verb] : migclock::cli::verbs())
    std::fprintf(out, "  %-10s %s\n", name.c_str(), verb.summary.c_str());
  std::fprintf(out, "\n'migclock <verb> --help' describes a verb.\n");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("migclock %s\n", MIGCLOCK_VERSION);
    return 0;
  }
  auto& table = migclock::cli::verbs();
  auto it = table.find(argv[1]);
  if (it == table.end()) {
    std::fprintf(stderr, "migclock: unknown verb '%s'\n", argv[1]);
    usage(stderr);
    return 2;
  }
  try {
    return it->second.run(argc - 1, argv + 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "migclock %s: %s\n", argv[1], e.what());
    return 1;
  }
}
