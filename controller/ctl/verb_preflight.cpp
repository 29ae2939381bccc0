// migclockctl preflight VM SOURCE DESTINATION: can the VM move with its clocks intact?
#include <cstdio>

#include "ctl.hpp"

namespace migclock::ctl {
namespace {

const char* kUsage = "migclockctl [--json] preflight VM SOURCE DESTINATION   (exit 0 compatible, 3 not)";

int run(Context& ctx) {
  if (ctx.args.size() != 3) return usage_error(kUsage, "preflight needs VM, SOURCE and DESTINATION");
  net::JsonWriter w;
  w.begin_object().key("vm").value(ctx.args[0]).key("source").value(ctx.args[1]).key("destination").value(ctx.args[2])
      .end_object();
  auto r = call(ctx, "POST", "/api/v1/preflight", w.str());
  if (!r) return 1;
  auto d = parse(r->body);
  bool ok = d["compatible"].GetBool();
  if (ctx.json) {
    std::printf("%s\n", r->body.c_str());
    return ok ? 0 : 3;
  }
  std::printf("%s → %s for %s: %s\n", ctx.args[1].c_str(), ctx.args[2].c_str(), ctx.args[0].c_str(),
              ok ? "COMPATIBLE" : "NOT COMPATIBLE");
  std::vector<std::vector<std::string>> rows{{"  CHECK", "OK", "DETAIL"}};
  for (const auto& c : d["checks"].GetArray())
    rows.push_back({"  " + str(c, "name"), c["ok"].GetBool() ? "yes" : "NO", str(c, "detail")});
  print_table(rows);
  return ok ? 0 : 3;
}

VerbRegistrar reg({"preflight", "check TSC, invtsc, masterclock, offset writes and realtime offset for a move",
                   kUsage, run});

}  // namespace
}  // namespace migclock::ctl
