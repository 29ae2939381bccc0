// JSON (every run, every estimate) and the human table (medians over runs).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "migclock/agent_sync/report_json.hpp"
#include "timereport.hpp"

namespace migclock::timereport {

using agent_sync::OffsetEstimate;

namespace {

int64_t median(std::vector<int64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

template <class F>
std::vector<int64_t> collect(const Series& s, F f) {
  std::vector<int64_t> out;
  for (const auto& r : s.runs) f(r, out);
  return out;
}

std::string ms(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.3f", static_cast<double>(ns) / 1e6);
  return buf;
}

std::string us(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", static_cast<double>(ns) / 1e3);
  return buf;
}

}  // namespace

std::string to_json(const Config& cfg, const std::vector<Series>& all) {
  JsonWriter w;
  w.begin_object().field("tool", "migclock-timereport").field("repeats", cfg.repeats).key("nice");
  if (cfg.nice) w.value(*cfg.nice); else w.null();
  w.field("suspend_seconds", cfg.suspend_seconds).key("series").begin_array();
  for (const auto& s : all) {
    w.begin_object()
        .field("event", s.event)
        .field("arm", to_string(s.arm))
        .field("failed_runs",
               static_cast<int>(std::count_if(s.runs.begin(), s.runs.end(), [](const Run& r) { return !r.error.empty(); })))
        .field("median_abs_after_repair_ns",
               median(collect(s, [](const Run& r, auto& v) { v.push_back(std::llabs(r.after_repair.back().median_offset_ns)); })))
        .key("runs")
        .begin_array();
    for (const auto& r : s.runs) {
      w.begin_object();
      agent_sync::write_json(w.key("before"), r.before);
      agent_sync::write_json(w.key("after_event"), r.after_event);
      w.key("after_repair").begin_array();
      for (const auto& e : r.after_repair) agent_sync::write_json(w, e);
      w.end_array();
      if (!r.error.empty()) w.field("error", r.error);
      if (s.arm == Arm::migclock) {
        w.field("connected_to_synced_ns", r.connected_to_synced_ns)
            .field("connected_to_set_ns", r.connected_to_set_ns)
            .field("attempts", r.attempts)
            .key("sync_report")
            .raw(r.sync_report_json);
      }
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return w.str();
}

std::string to_table(const std::vector<Series>& all) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-11s %-26s %10s %12s %12s %12s %11s %9s %9s %9s %9s\n", "event", "repair", "before ms",
                "after ev ms", "repair#1 ms", "repair#2 ms", "med|fin| ms", "rtt us", "+-asym us", "c->set ms",
                "c->ok ms");
  out += line;
  for (const auto& s : all) {
    auto before = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.before.median_offset_ns); }));
    auto after_ev = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.after_event.median_offset_ns); }));
    auto rep1 = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.after_repair.front().median_offset_ns); }));
    const bool two = !s.runs.empty() && s.runs.front().after_repair.size() > 1;
    auto rep2 = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.after_repair.back().median_offset_ns); }));
    auto abs_final = median(collect(s, [](const Run& r, auto& v) { v.push_back(std::llabs(r.after_repair.back().median_offset_ns)); }));
    auto rtt = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.after_repair.back().min_rtt_ns); }));
    auto asym = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.after_repair.back().asymmetry_bound_ns); }));
    const auto failed = std::count_if(s.runs.begin(), s.runs.end(), [](const Run& r) { return !r.error.empty(); });
    const std::string arm = std::string(to_string(s.arm)) + (failed ? " (" + std::to_string(failed) + " failed)" : "");
    auto conn = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.connected_to_synced_ns); }));
    auto conn_set = median(collect(s, [](const Run& r, auto& v) { v.push_back(r.connected_to_set_ns); }));
    const bool ours = s.arm == Arm::migclock;
    std::snprintf(line, sizeof line, "%-11s %-26s %10s %12s %12s %12s %11s %9s %9s %9s %9s\n", s.event.c_str(),
                  arm.c_str(), ms(before).c_str(), ms(after_ev).c_str(), ms(rep1).c_str(),
                  two ? ms(rep2).c_str() : "-", ms(abs_final).c_str(), us(rtt).c_str(), us(asym).c_str(), ours ? ms(conn_set).c_str() : "-",
                  ours ? ms(conn).c_str() : "-");
    out += line;
  }
  out += "offsets: guest minus host, median over runs of each measurement's median (8 samples, 4 lowest-RTT kept);\n"
         "med|fin|: median over runs of |offset| after the last repair call (the target's metric);\n"
         "+-asym: half the min RTT, the bound on the error from path asymmetry.\n"
         "c->set / c->ok (migclock): from the attempt that found the agent answering to the first\n"
         "guest-set-time applied (send + assumed delay) / to the last step verified.\n";
  return out;
}

}  // namespace migclock::timereport
