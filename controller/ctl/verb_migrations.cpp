// migclockctl migrations list|show|watch.
#include <unistd.h>

#include <cstdio>

#include "ctl.hpp"
#include "migclock/common/parse_int.hpp"

namespace migclock::ctl {
namespace {

const char* kUsage =
    "migclockctl [--json] migrations list [--vm VM] [--host H] [--phase P] [--active] [--limit N] [--offset N]\n"
    "       migclockctl [--json] migrations show ID\n"
    "       migclockctl [--json] migrations watch ID [--timeout-s N]   (live phase display until it ends)";

const char* kChain[] = {"announced", "source-captured", "shipped", "destination-restored", "resumed", "synced", "verified"};

void print_migration(const rapidjson::Value& m) {
  std::printf("migration %s  vm %s (%s)  %s → %s  kind %s\n", str(m, "id").c_str(), str(m, "vm_name").c_str(),
              str(m, "vm_uuid").c_str(), str(m, "source").c_str(),
              str(m, "destination").empty() ? "?" : str(m, "destination").c_str(), str(m, "kind").c_str());
  std::printf("phase %s%s%s  (version %lld, updated %s)\n", str(m, "phase").c_str(),
              str(m, "reason").empty() ? "" : " — ", str(m, "reason").c_str(),
              static_cast<long long>(i64(m, "version")), format_time(i64(m, "updated_ns")).c_str());
  std::vector<std::vector<std::string>> rows{{"  PHASE", "HOST", "REPORTED AT", "RECEIVED", "REASON"}};
  for (const auto& e : m["history"].GetArray())
    rows.push_back({"  " + str(e, "phase"), str(e, "host"), format_time(i64(e, "at_ns")),
                    format_time(i64(e, "received_ns")), str(e, "reason")});
  print_table(rows);
  std::printf("results %s\n", net::to_string(m["results"]).c_str());
  if (m["snapshot"].IsObject())
    std::printf("snapshot %s, %lld bytes, sha256 %s\n", str(m["snapshot"], "format").c_str(),
                static_cast<long long>(i64(m["snapshot"], "bytes")), str(m["snapshot"], "sha256").c_str());
}

// One line: the chain with the current phase in brackets.
std::string progress(const rapidjson::Value& m) {
  std::string phase = str(m, "phase"), line;
  bool reached = true;
  for (const char* p : kChain) {
    if (!line.empty()) line += " → ";
    if (phase == p) {
      line += "[" + std::string(p) + "]";
      reached = false;
    } else {
      line += reached ? std::string(p) : std::string(p);
    }
  }
  if (phase == "failed" || phase == "degraded") line += "  ✗ " + phase + ": " + str(m, "reason");
  return line;
}

int list(Context& ctx) {
  std::string q;
  for (const char* opt : {"--vm", "--host", "--phase", "--limit", "--offset"}) {
    std::string v;
    if (!take_option(ctx.args, opt, v)) return usage_error(kUsage, std::string(opt) + " needs a value");
    if (!v.empty()) q += (q.empty() ? "?" : "&") + std::string(opt + 2) + "=" + net::percent_encode(v);
  }
  if (take_flag(ctx.args, "--active")) q += (q.empty() ? "?" : "&") + std::string("active=true");
  if (!ctx.args.empty()) return usage_error(kUsage, "unexpected argument " + ctx.args[0]);
  auto r = call(ctx, "GET", "/api/v1/migrations" + q);
  if (!r) return 1;
  if (ctx.json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  auto d = parse(r->body);
  std::vector<std::vector<std::string>> rows{{"ID", "VM", "SOURCE", "DESTINATION", "PHASE", "UPDATED", "REASON"}};
  for (const auto& m : d["items"].GetArray())
    rows.push_back({str(m, "id"), str(m, "vm_name").empty() ? str(m, "vm_uuid") : str(m, "vm_name"), str(m, "source"),
                    str(m, "destination"), str(m, "phase"), format_time(i64(m, "updated_ns")), str(m, "reason")});
  print_table(rows);
  std::printf("(%lld total%s)\n", static_cast<long long>(i64(d, "total")),
              d["next_offset"].IsNull() ? "" : (", more from --offset " + str(d, "next_offset")).c_str());
  return 0;
}

int show(Context& ctx) {
  if (ctx.args.size() != 1) return usage_error(kUsage, "show needs exactly one ID");
  auto r = call(ctx, "GET", "/api/v1/migrations/" + net::percent_encode(ctx.args[0]));
  if (!r) return 1;
  if (ctx.json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  print_migration(parse(r->body));
  return 0;
}

int watch(Context& ctx) {
  std::string timeout_s;
  if (!take_option(ctx.args, "--timeout-s", timeout_s)) return usage_error(kUsage, "--timeout-s needs a value");
  if (ctx.args.size() != 1) return usage_error(kUsage, "watch needs exactly one ID");
  const auto limit = timeout_s.empty() ? std::optional<int64_t>(0) : parse_int(timeout_s, 0, INT32_MAX);
  if (!limit)
    return usage_error(kUsage, "--timeout-s needs a non-negative whole number of seconds, got '" + timeout_s + "'");
  std::string id = net::percent_encode(ctx.args[0]);
  auto start = std::chrono::steady_clock::now();
  int64_t version = -1;
  for (;;) {
    auto r = call(ctx, "GET", "/api/v1/migrations/" + id + "?wait_s=25&since_version=" + std::to_string(version), {}, 40);
    if (!r) return 1;
    auto m = parse(r->body);
    if (i64(m, "version") != version) {
      version = i64(m, "version");
      if (ctx.json) std::printf("%s\n", r->body.c_str());
      else std::printf("%s  %s\n", format_time(i64(m, "updated_ns")).c_str(), progress(m).c_str());
      std::fflush(stdout);
    }
    if (m["terminal"].IsBool() && m["terminal"].GetBool()) {
      std::string phase = str(m, "phase");
      return phase == "verified" ? 0 : 3;
    }
    if (*limit > 0 && std::chrono::steady_clock::now() - start > std::chrono::seconds(*limit)) {
      std::fprintf(stderr, "migclockctl: still %s after %lld s\n", str(m, "phase").c_str(), static_cast<long long>(*limit));
      return 4;
    }
  }
}

int run(Context& ctx) {
  if (ctx.args.empty()) return usage_error(kUsage, "migrations needs list, show or watch");
  std::string sub = ctx.args[0];
  ctx.args.erase(ctx.args.begin());
  if (sub == "list") return list(ctx);
  if (sub == "show") return show(ctx);
  if (sub == "watch") return watch(ctx);
  return usage_error(kUsage, "unknown subcommand " + sub);
}

VerbRegistrar reg({"migrations",
                   "list, show or watch migrations (watch exits 0 when verified, 3 when failed/degraded)", kUsage,
                   run});

}  // namespace
}  // namespace migclock::ctl
