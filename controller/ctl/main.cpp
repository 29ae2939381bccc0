// migclockctl: the operator CLI over the migclock-controller API.
#include <cstdio>
#include <cstdlib>

#include "ctl.hpp"

using namespace migclock::ctl;

namespace {
void usage(FILE* f) {
  std::fprintf(f,
               "Usage: migclockctl [--server URL] [--token T] [--ca PEM] [--json] VERB [ARGS]\n\n"
               "  --server URL   https://HOST:PORT, or several comma-separated (failover) (env MIGCLOCK_SERVER)\n"
               "  --token T      bearer token (env MIGCLOCK_TOKEN)\n"
               "  --ca PEM       CA bundle to trust (env MIGCLOCK_CA; default: system store)\n"
               "  --json         print the API's JSON instead of tables\n"
               "  --help         this text; VERB --help for a verb\n\nVerbs:\n");
  for (const auto& [name, v] : verbs()) std::fprintf(f, "  %-12s %s\n", name.c_str(), v.summary.c_str());
}
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

int main(int argc, char** argv) {
  Context ctx;
  ctx.server = env("MIGCLOCK_SERVER");
  ctx.token = env("MIGCLOCK_TOKEN");
  ctx.ca = env("MIGCLOCK_CA");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (take_flag(args, "--help") && (args.empty() || !verbs().count(args[0]))) {
    usage(stdout);
    return 0;
  }
  ctx.json = take_flag(args, "--json");
  for (const char* opt : {"--server", "--token", "--ca"}) {
    std::string v;
    if (!take_option(args, opt, v)) return usage_error("migclockctl --help", std::string(opt) + " needs a value");
    if (!v.empty()) (std::string(opt) == "--server" ? ctx.server : std::string(opt) == "--token" ? ctx.token : ctx.ca) = v;
  }
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  auto it = verbs().find(args[0]);
  if (it == verbs().end()) {
    std::fprintf(stderr, "migclockctl: unknown verb '%s'\n", args[0].c_str());
    usage(stderr);
    return 2;
  }
  ctx.args.assign(args.begin() + 1, args.end());
  // `VERB --help` (the global parse removed --help if it came first).
  for (const auto& a : ctx.args)
    if (a == "--help" || a == "-h") {
      std::printf("usage: %s\n%s\n", it->second.usage.c_str(), it->second.summary.c_str());
      return 0;
    }
  if (std::string(argv[argc - 1]) == "--help") {
    std::printf("usage: %s\n%s\n", it->second.usage.c_str(), it->second.summary.c_str());
    return 0;
  }
  if (ctx.server.empty()) return usage_error("migclockctl --server URL ...", "no server (--server or MIGCLOCK_SERVER)");
  return it->second.run(ctx);
}
