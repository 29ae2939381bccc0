#include "migclock/serialization/summary.hpp"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "migclock/serialization/enum_names.hpp"

namespace migclock::serialization {
namespace {

void line(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void line(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  out += buf;
  out += '\n';
}

std::string clock_flag_names(uint32_t flags) {
  std::string names;
  auto add = [&](uint32_t bit, const char* name) {
    if (!(flags & bit)) return;
    if (!names.empty()) names += '|';
    names += name;
  };
  add(snapshot::kClockTscStable, "TSC_STABLE");
  add(snapshot::kClockRealtime, "REALTIME");
  add(snapshot::kClockHostTsc, "HOST_TSC");
  return names.empty() ? "none" : names;
}

}  // namespace

std::string describe(const snapshot::Snapshot& s) {
  std::string out;
  line(out, "vm:               %s (uuid %s)", s.vm.name.empty() ? "-" : s.vm.name.c_str(),
       s.vm.uuid.empty() ? "-" : s.vm.uuid.c_str());
  line(out, "source:           %s, captured by migclock %s", enum_label(s.source).c_str(),
       s.software_version.c_str());
  line(out, "host:             %s (boot %s), TSC %" PRIu32 " kHz, clocksource %s, scaling %s, offsets honoured %s",
       s.host.hostname.c_str(), s.host.boot_id.empty() ? "-" : s.host.boot_id.c_str(), s.host.tsc_khz,
       s.host.clocksource.empty() ? "-" : s.host.clocksource.c_str(), s.host.scaling_supported ? "yes" : "no",
       enum_label(s.host.offset_honoured).c_str());
  line(out, "captured:         realtime %" PRId64 " ns, monotonic_raw %" PRId64 " ns", s.captured.realtime_ns,
       s.captured.monotonic_raw_ns);
  line(out, "kvmclock:         %" PRIu64 " ns, flags 0x%" PRIx32 " (%s), realtime %" PRIu64 " ns, host_tsc %" PRIu64,
       s.clock.clock_ns, s.clock.flags, clock_flag_names(s.clock.flags).c_str(), s.clock.realtime_ns,
       s.clock.host_tsc);
  line(out, "masterclock:      %s (evidence %s)", enum_label(s.masterclock.state).c_str(),
       enum_label(s.masterclock.evidence).c_str());
  line(out, "vcpus:            %zu", s.vcpus.size());
  line(out, "  %4s %20s %5s %10s %20s %20s %4s", "id", "tsc_offset", "valid", "tsc_khz", "scaling_ratio",
       "msr_tsc", "frac");
  for (const auto& v : s.vcpus)
    line(out, "  %4" PRIu32 " %20" PRIu64 " %5s %10" PRIu32 " %20" PRIu64 " %20" PRIu64 " %4" PRIu32, v.id,
         v.tsc_offset, v.tsc_offset_valid ? "yes" : "no", v.tsc_khz, v.tsc_scaling_ratio, v.msr_tsc,
         v.tsc_scaling_frac_bits);
  if (s.pit.present) {
    line(out, "pit:              flags 0x%" PRIx32, s.pit.flags);
    for (std::size_t i = 0; i < s.pit.channels.size(); ++i) {
      const auto& c = s.pit.channels[i];
      line(out, "  channel %zu: mode %u count %" PRIu32 " gate %u count_load_time %" PRId64 " ns", i,
           unsigned(c.mode), c.count, unsigned(c.gate), c.count_load_time);
    }
  } else {
    line(out, "pit:              absent");
  }
  if (s.rtc.present)
    line(out, "rtc:              %" PRId64 " s since the epoch (%s)", s.rtc.date_unix_s, s.rtc.source.c_str());
  else
    line(out, "rtc:              absent");
  if (s.guest_time)
    line(out, "guest time:       %" PRId64 " ns at host %" PRId64 " ns (rtt %" PRId64 " ns)", s.guest_time->guest_ns,
         s.guest_time->host_mid_ns, s.guest_time->rtt_ns);
  else
    line(out, "guest time:       not read");
  return out;
}

}  // namespace migclock::serialization
