#include "migclock/agent_sync/clock_target.hpp"

#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace migclock::agent_sync {

const char* to_string(TargetMode m) { return m == TargetMode::continuity ? "continuity" : "domain_clock"; }

Result<TargetMode> parse_target_mode(const std::string& text) {
  if (text == "domain_clock") return TargetMode::domain_clock;
  if (text == "continuity") return TargetMode::continuity;
  return make_error(errc::invalid_argument, "sync target \"" + text + "\": expected domain_clock or continuity");
}

const char* to_string(DomainClock::Offset o) {
  switch (o) {
    case DomainClock::Offset::utc: return "utc";
    case DomainClock::Offset::localtime: return "localtime";
    case DomainClock::Offset::timezone: return "timezone";
    case DomainClock::Offset::variable: return "variable";
    case DomainClock::Offset::absolute: return "absolute";
  }
  return "?";
}

namespace {

// The value of attribute `name` in the start tag `tag` (either quote style).
std::optional<std::string> attribute(const std::string& tag, const std::string& name) {
  for (size_t at = tag.find(name); at != std::string::npos; at = tag.find(name, at + 1)) {
    // A whole attribute name: preceded by whitespace, followed by '='.
    if (at == 0 || !std::isspace(static_cast<unsigned char>(tag[at - 1]))) continue;
    size_t i = at + name.size();
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
    if (i >= tag.size() || tag[i] != '=') continue;
    ++i;
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
    if (i >= tag.size() || (tag[i] != '\'' && tag[i] != '"')) return std::nullopt;
    const size_t end = tag.find(tag[i], i + 1);
    if (end == std::string::npos) return std::nullopt;
    return tag.substr(i + 1, end - i - 1);
  }
  return std::nullopt;
}

Result<int64_t> integer(const std::string& what, const std::string& text) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return static_cast<int64_t>(v);
  } catch (const std::exception&) {
  }
  return make_error(errc::malformed_input, "<clock " + what + "='" + text + "'>: not an integer");
}

std::string seconds_text(int64_t ns) {
  char b[48];
  std::snprintf(b, sizeof b, "%.6f s", static_cast<double>(ns) / 1e9);
  return b;
}

constexpr int64_t kNsPerS = 1'000'000'000;

}  // namespace

Result<DomainClock> parse_domain_clock(const std::string& element) {
  DomainClock c;
  if (element.empty()) return c;
  const std::string tag = element.substr(0, element.find('>'));
  if (tag.rfind("<clock", 0) != 0) return make_error(errc::malformed_input, "not a <clock> element: " + tag);
  const std::string offset = attribute(tag, "offset").value_or("utc");
  if (offset == "utc") c.offset = DomainClock::Offset::utc;
  else if (offset == "localtime") c.offset = DomainClock::Offset::localtime;
  else if (offset == "timezone") c.offset = DomainClock::Offset::timezone;
  else if (offset == "variable") c.offset = DomainClock::Offset::variable;
  else if (offset == "absolute") c.offset = DomainClock::Offset::absolute;
  else return make_error(errc::not_supported, "<clock offset='" + offset + "'>: unknown offset");
  // adjustment='reset' (utc/localtime): resynchronised at every boot, no offset.
  if (auto adj = attribute(tag, "adjustment"); adj && *adj != "reset") {
    auto v = integer("adjustment", *adj);
    if (!v) return v.error();
    c.adjustment_s = *v;
  }
  if (auto basis = attribute(tag, "basis")) {
    if (*basis != "utc" && *basis != "localtime")
      return make_error(errc::malformed_input, "<clock basis='" + *basis + "'>: expected utc or localtime");
    c.basis_localtime = *basis == "localtime";
  }
  if (c.offset == DomainClock::Offset::timezone) {
    auto tz = attribute(tag, "timezone");
    if (!tz || tz->empty()) return make_error(errc::malformed_input, "<clock offset='timezone'> without timezone=");
    c.timezone = *tz;
  }
  if (c.offset == DomainClock::Offset::absolute) {
    if (auto start = attribute(tag, "start")) {
      auto v = integer("start", *start);
      if (!v) return v.error();
      c.start_s = *v;
    }
  }
  return c;
}

Result<ClockTarget> domain_clock_target(const DomainClock& c, int64_t host_realtime_ns, const UtcOffsetFn& utc_offset) {
  const int64_t now_s = host_realtime_ns / kNsPerS;
  ClockTarget t;
  int64_t offset_s = c.adjustment_s;
  std::string how = "domain clock offset='" + std::string(to_string(c.offset)) + "'";
  if (c.adjustment_s != 0) how += " adjustment=" + std::to_string(c.adjustment_s);
  switch (c.offset) {
    case DomainClock::Offset::utc: break;
    case DomainClock::Offset::variable:
      how += std::string(" basis=") + (c.basis_localtime ? "localtime" : "utc");
      if (!c.basis_localtime) break;
      [[fallthrough]];
    case DomainClock::Offset::localtime: {
      auto local = utc_offset("", now_s);
      if (!local) return local.error();
      offset_s += *local;
      how += " (host UTC offset " + std::to_string(*local) + " s)";
      break;
    }
    case DomainClock::Offset::timezone: {
      auto zone = utc_offset(c.timezone, now_s);
      if (!zone) return zone.error();
      offset_s += *zone;
      how += " timezone=" + c.timezone + " (UTC offset " + std::to_string(*zone) + " s)";
      break;
    }
    case DomainClock::Offset::absolute:
      // The RTC started at `start` when QEMU started; the agent does not know
      // that moment, so the offset is not the domain's to tell.
      return make_error(errc::not_supported, how + ": the offset is fixed at boot (start=" +
                                                 std::to_string(c.start_s.value_or(0)) + "), not known to the agent");
  }
  t.offset_ns = offset_s * kNsPerS;
  t.uncertainty_ns = 0;  // exact by definition: the domain says so
  t.source = how + ": target " + std::to_string(offset_s) + " s";
  return t;
}

ClockTarget continuity_from_measurement(int64_t guest_minus_source_ns, int64_t measurement_uncertainty_ns,
                                        int64_t host_offset_ns, int64_t host_offset_uncertainty_ns,
                                        std::string source) {
  ClockTarget t;
  t.offset_ns = guest_minus_source_ns - host_offset_ns;
  t.uncertainty_ns = measurement_uncertainty_ns + host_offset_uncertainty_ns;
  t.source = "continuity: " + source + ": offset before the pause " + seconds_text(guest_minus_source_ns) +
             (host_offset_ns != 0 || host_offset_uncertainty_ns != 0
                  ? ", this host - source " + seconds_text(host_offset_ns)
                  : std::string());
  return t;
}

ClockTarget continuity_from_pause(int64_t paused_ns, int64_t uncertainty_ns, std::string source) {
  ClockTarget t;
  t.offset_ns = paused_ns;
  t.relative_to_measured = true;
  t.uncertainty_ns = uncertainty_ns;
  t.source = "continuity: " + source + ": the guest's clock stood still for " + seconds_text(paused_ns) +
             "; target = offset at resume + that";
  return t;
}

ResolvedTarget resolve_target(const ClockTarget& t, int64_t measured_ns) {
  if (!t.relative_to_measured) return {t.offset_ns, ""};
  const int64_t frozen = measured_ns + t.offset_ns;  // it lost the pause
  if (t.last_known_offset_ns) {
    const int64_t last = *t.last_known_offset_ns;
    const auto gap = [last](int64_t v) { return v > last ? v - last : last - v; };
    if (gap(measured_ns) < gap(frozen))
      return {measured_ns, "; but at resume it read " + seconds_text(measured_ns - last) +
                               " from its last synced offset: its clock kept running, target = its offset at resume"};
  }
  return {frozen, ""};
}

}  // namespace migclock::agent_sync
