#include "migclock/timeprobe/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "migclock/net/json.hpp"

namespace migclock::timeprobe {
namespace {

const char* const kArmOrder[] = {"migclock", "migclock_learned", "companion", "none", "settime_now", "domtime_sync"};
const char* const kEventOrder[] = {"migration", "suspend"};

int rank(const std::string& v, const char* const* order, int n) {
  for (int i = 0; i < n; ++i)
    if (v == order[i]) return i;
  return n;
}

std::optional<double> number(const rapidjson::Value& o, const char* k) {
  if (!o.IsObject() || !o.HasMember(k) || !o[k].IsNumber()) return std::nullopt;
  return o[k].GetDouble();
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

std::string fmt_us(double us) {
  char b[32];
  if (std::fabs(us) >= 1e6) std::snprintf(b, sizeof b, "%.3f s", us / 1e6);
  else if (std::fabs(us) >= 1e3) std::snprintf(b, sizeof b, "%.2f ms", us / 1e3);
  else std::snprintf(b, sizeof b, "%.0f µs", us);
  return b;
}

std::string fmt_time(const std::optional<double>& med, const std::optional<double>& max, int reached, int n,
                     double watch_ms) {
  char b[96];
  if (reached == 0) {
    std::snprintf(b, sizeof b, "never (>%.1f s)", watch_ms / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.0f / %.0f ms", *med, *max);
    if (reached < n) std::snprintf(b + std::strlen(b), sizeof b - std::strlen(b), " (%d/%d)", reached, n);
  }
  return b;
}

void opt(net::JsonWriter& w, const char* k, const std::optional<double>& v) {
  w.key(k);
  v ? w.value(std::round(*v * 10) / 10) : w.null();
}

}  // namespace

Result<EventResult> parse_event(std::string_view line) {
  auto doc = net::parse_object(line);
  if (!doc) return make_error(errc::malformed_input, "event line: " + doc.problem().message);
  const auto& d = *doc;
  EventResult e;
  if (!d.HasMember("arm") || !d["arm"].IsString() || !d.HasMember("event") || !d["event"].IsString())
    return make_error(errc::malformed_input, "event line: needs string fields arm and event");
  e.arm = d["arm"].GetString();
  e.event = d["event"].GetString();
  e.index = d.HasMember("index") && d["index"].IsInt() ? d["index"].GetInt() : 0;
  if (!d.HasMember("watch") || !d["watch"].IsObject()) return make_error(errc::malformed_input, "event line: no watch");
  const auto& w = d["watch"];
  if (!w.HasMember("final") || !w["final"].IsObject())
    return make_error(errc::malformed_input, "event line: the watch has no final estimate");
  const auto off = number(w["final"], "offset_us"), unc = number(w["final"], "uncertainty_us");
  if (!off || !unc) return make_error(errc::malformed_input, "event line: final estimate lacks offset_us/uncertainty_us");
  e.offset_us = *off;
  e.uncertainty_us = *unc;
  if (d.HasMember("before")) e.before_offset_us = number(d["before"], "offset_us").value_or(0);
  e.to_1ms_ms = number(w, "to_1ms_ms");
  e.to_100us_ms = number(w, "to_100us_ms");
  e.watch_ms = number(w, "watch_ms").value_or(0);
  if (w.HasMember("points") && w["points"].IsArray()) {
    for (const auto& p : w["points"].GetArray()) {
      if (!p.IsArray() || p.Size() != 3 || !p[0].IsNumber() || !p[1].IsNumber() || !p[2].IsNumber())
        return make_error(errc::malformed_input, "event line: a watch point is not [ms, offset_us, unc_us]");
      e.points.push_back({p[0].GetDouble(), p[1].GetDouble(), p[2].GetDouble()});
    }
  }
  return e;
}

std::vector<Cell> aggregate(const std::vector<EventResult>& events) {
  std::map<std::pair<std::pair<int, std::string>, std::pair<int, std::string>>, std::vector<const EventResult*>> groups;
  for (const auto& e : events)
    groups[{{rank(e.arm, kArmOrder, 6), e.arm}, {rank(e.event, kEventOrder, 2), e.event}}].push_back(&e);
  std::vector<Cell> cells;
  for (const auto& [key, evs] : groups) {
    Cell c;
    c.arm = key.first.second;
    c.event = key.second.second;
    c.n = static_cast<int>(evs.size());
    std::vector<double> abs, t1, t100;
    for (const auto* e : evs) {
      abs.push_back(std::fabs(e->offset_us));
      c.uncertainty_us = std::max(c.uncertainty_us, e->uncertainty_us);
      c.watch_ms = std::max(c.watch_ms, e->watch_ms);
      if (e->to_1ms_ms) t1.push_back(*e->to_1ms_ms);
      if (e->to_100us_ms) t100.push_back(*e->to_100us_ms);
    }
    c.median_abs_offset_us = median_of(abs);
    c.max_abs_offset_us = *std::max_element(abs.begin(), abs.end());
    c.reached_1ms = static_cast<int>(t1.size());
    c.reached_100us = static_cast<int>(t100.size());
    if (!t1.empty()) c.median_to_1ms_ms = median_of(t1), c.max_to_1ms_ms = *std::max_element(t1.begin(), t1.end());
    if (!t100.empty())
      c.median_to_100us_ms = median_of(t100), c.max_to_100us_ms = *std::max_element(t100.begin(), t100.end());
    cells.push_back(c);
  }
  return cells;
}

std::string report_json(const std::vector<Cell>& cells, const std::vector<EventResult>& events) {
  net::JsonWriter w;
  double worst = 0;
  for (const auto& c : cells) worst = std::max(worst, c.uncertainty_us);
  w.begin_object();
  w.key("uncertainty_us").value(std::round(worst * 10) / 10);
  w.key("judge").begin_object();
  w.key("channel").value("virtio-serial port org.migclock.timeprobe.0 (not the guest agent)");
  w.key("method").value(
      "NTP-style exchanges, lowest-RTT kept; offset = guest - (t1+t4)/2; "
      "uncertainty = min RTT/2 + scatter of the kept exchanges");
  w.end_object();
  w.key("arms").begin_object();
  std::string arm;
  for (const auto& c : cells) {
    if (c.arm != arm) {
      if (!arm.empty()) w.end_object();
      arm = c.arm;
      w.key(arm).begin_object();
    }
    w.key(c.event).begin_object();
    w.key("n").value(c.n);
    w.key("median_abs_offset_us").value(std::round(c.median_abs_offset_us * 10) / 10);
    w.key("max_abs_offset_us").value(std::round(c.max_abs_offset_us * 10) / 10);
    w.key("uncertainty_us").value(std::round(c.uncertainty_us * 10) / 10);
    w.key("watch_ms").value(c.watch_ms);
    w.key("reached_1ms").value(c.reached_1ms);
    opt(w, "median_to_1ms_ms", c.median_to_1ms_ms);
    opt(w, "max_to_1ms_ms", c.max_to_1ms_ms);
    w.key("reached_100us").value(c.reached_100us);
    opt(w, "median_to_100us_ms", c.median_to_100us_ms);
    opt(w, "max_to_100us_ms", c.max_to_100us_ms);
    w.key("events").begin_array();
    for (const auto& e : events) {
      if (e.arm != c.arm || e.event != c.event) continue;
      w.begin_object();
      w.key("index").value(e.index);
      w.key("before_offset_us").value(std::round(e.before_offset_us * 10) / 10);
      w.key("offset_us").value(std::round(e.offset_us * 10) / 10);
      w.key("uncertainty_us").value(std::round(e.uncertainty_us * 10) / 10);
      opt(w, "to_1ms_ms", e.to_1ms_ms);
      opt(w, "to_100us_ms", e.to_100us_ms);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  if (!arm.empty()) w.end_object();
  w.end_object();
  w.end_object();
  return w.str();
}

std::string table(const std::vector<Cell>& cells) {
  std::vector<std::vector<std::string>> rows{
      {"ARM", "EVENT", "N", "MEDIAN |OFF|", "MAX |OFF|", "±", "TO 1 ms (med/max)", "TO 100 µs (med/max)"}};
  for (const auto& c : cells)
    rows.push_back({c.arm, c.event, std::to_string(c.n), fmt_us(c.median_abs_offset_us), fmt_us(c.max_abs_offset_us),
                    fmt_us(c.uncertainty_us),
                    fmt_time(c.median_to_1ms_ms, c.max_to_1ms_ms, c.reached_1ms, c.n, c.watch_ms),
                    fmt_time(c.median_to_100us_ms, c.max_to_100us_ms, c.reached_100us, c.n, c.watch_ms)});
  // Column widths in characters, not bytes (µ and ± are two bytes).
  auto width = [](const std::string& s) {
    std::size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
  };
  std::vector<std::size_t> wd(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) wd[i] = std::max(wd[i], width(r[i]));
  std::string out;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(wd[i] - width(r[i]) + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

std::string plot_data(const std::vector<EventResult>& events, const std::string& event, std::vector<std::string>* arms) {
  std::string out;
  std::vector<std::string> seen;
  std::vector<const EventResult*> firsts;
  for (const auto& e : events) {
    if (e.event != event || std::find(seen.begin(), seen.end(), e.arm) != seen.end()) continue;
    seen.push_back(e.arm);
    firsts.push_back(&e);
  }
  std::stable_sort(firsts.begin(), firsts.end(), [](const EventResult* a, const EventResult* b) {
    return rank(a->arm, kArmOrder, 6) < rank(b->arm, kArmOrder, 6);
  });
  for (const auto* e : firsts) {
    if (arms) arms->push_back(e->arm);
    if (!out.empty()) out += "\n\n";
    out += "# " + e->arm + " " + e->event + " " + std::to_string(e->index) + "\n";
    char b[96];
    for (const auto& p : e->points) {
      std::snprintf(b, sizeof b, "%.2f %.1f %.1f\n", p.since_resume_ms, p.offset_us, p.uncertainty_us);
      out += b;
    }
  }
  return out;
}

}  // namespace migclock::timeprobe
