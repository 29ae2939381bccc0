// migclockctl sync VM [--wait-s N]: ask the VM's agent to sync the guest clock now.
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "ctl.hpp"
#include "migclock/common/parse_int.hpp"

namespace migclock::ctl {
namespace {

const char* kUsage = "migclockctl [--json] sync VM [--wait-s N]   (VM: uuid or name; waits for the agent's result)";

int run(Context& ctx) {
  std::string wait;
  if (!take_option(ctx.args, "--wait-s", wait)) return usage_error(kUsage, "--wait-s needs a value");
  if (ctx.args.size() != 1) return usage_error(kUsage, "sync needs exactly one VM");
  const auto wait_s = wait.empty() ? std::optional<int64_t>(0) : parse_int(wait, 0, INT32_MAX);
  if (!wait_s) return usage_error(kUsage, "--wait-s needs a non-negative whole number of seconds, got '" + wait + "'");
  auto r = call(ctx, "POST", "/api/v1/vms/" + net::percent_encode(ctx.args[0]) + "/sync", "{}");
  if (!r) return 1;
  auto d = parse(r->body);
  std::string id = str(d, "id");
  if (!ctx.json) std::printf("queued command %s for %s on %s\n", id.c_str(), str(d, "vm_name").c_str(), str(d, "host").c_str());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(*wait_s);
  while (*wait_s > 0) {
    auto c = call(ctx, "GET", "/api/v1/commands/" + id);
    if (!c) return 1;
    auto cd = parse(c->body);
    std::string state = str(cd, "state");
    if (state == "done" || state == "failed") {
      if (ctx.json) std::printf("%s\n", c->body.c_str());
      else std::printf("%s: %s %s\n", state.c_str(), str(cd, "message").c_str(), net::to_string(cd["results"]).c_str());
      return state == "done" ? 0 : 3;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "migclockctl: command %s still %s after %lld s\n", id.c_str(), state.c_str(),
                   static_cast<long long>(*wait_s));
      return 4;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (ctx.json) std::printf("%s\n", r->body.c_str());
  return 0;
}

VerbRegistrar reg({"sync", "queue a guest clock sync for the VM's agent (docs/protocol.md §4)", kUsage, run});

}  // namespace
}  // namespace migclock::ctl
