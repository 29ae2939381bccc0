// migclockctl vms [--host H]: VMs the agents report, with their current host.
#include <cstdio>

#include "ctl.hpp"

namespace migclock::ctl {
namespace {

const char* kUsage = "migclockctl [--json] vms [--host HOSTNAME]";

int run(Context& ctx) {
  std::string host;
  if (!take_option(ctx.args, "--host", host)) return usage_error(kUsage, "--host needs a value");
  if (!ctx.args.empty()) return usage_error(kUsage, "unexpected argument " + ctx.args[0]);
  auto r = call(ctx, "GET", "/api/v1/vms" + (host.empty() ? "" : "?host=" + net::percent_encode(host)));
  if (!r) return 1;
  if (ctx.json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  auto d = parse(r->body);
  std::vector<std::vector<std::string>> rows{{"UUID", "NAME", "STATE", "HOST", "UPDATED"}};
  for (const auto& v : d["items"].GetArray())
    rows.push_back({str(v, "uuid"), str(v, "name"), str(v, "state"), str(v, "host").empty() ? "-" : str(v, "host"),
                    format_time(i64(v, "updated_ns"))});
  print_table(rows);
  return 0;
}

VerbRegistrar reg({"vms", "list VMs reported by agents and the host each is on", kUsage, run});

}  // namespace
}  // namespace migclock::ctl
