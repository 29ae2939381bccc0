// migclockctl hosts [NAME]: registered hosts, their facts and clock offsets.
#include <cstdio>

#include "ctl.hpp"

namespace migclock::ctl {
namespace {

int run(Context& ctx) {
  std::string target = ctx.args.empty() ? "/api/v1/hosts" : "/api/v1/hosts/" + net::percent_encode(ctx.args[0]);
  auto r = call(ctx, "GET", target);
  if (!r) return 1;
  if (ctx.json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  auto d = parse(r->body);
  std::vector<std::vector<std::string>> rows{
      {"HOST", "TSC kHz", "SCALING", "CLOCKSOURCE", "OFFSET-WRITES", "MASTERCLOCK", "INVTSC", "LAST SEEN", "OFFSET", "±"}};
  auto add = [&](const rapidjson::Value& h) {
    const auto& co = h["clock_offset"];
    bool has = co.IsObject();
    rows.push_back({str(h, "hostname"), str(h, "tsc_khz"), str(h, "scaling_supported"), str(h, "clocksource"),
                    str(h, "offset_honoured"), str(h, "masterclock_possible"), str(h, "invtsc"),
                    format_time(i64(h, "last_seen_ns")), has ? format_ns(i64(co, "offset_ns")) : "-",
                    has ? format_ns(i64(co, "uncertainty_ns")) : "-"});
  };
  if (d.HasMember("items")) {
    for (const auto& h : d["items"].GetArray()) add(h);
  } else {
    add(d["host"]);
  }
  print_table(rows);
  return 0;
}

VerbRegistrar reg({"hosts", "list registered hosts (or one) with facts, last heartbeat and clock offset",
                   "migclockctl [--json] hosts [HOSTNAME]", run});

}  // namespace
}  // namespace migclock::ctl
