#include "migclock/serialization/summary.hpp"

#include <cinttypes>
#include <cmath>
#include <ctime>
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

// "2026-09-21T12:34:56.123456789Z" for a CLOCK_REALTIME value in ns.
std::string utc(int64_t realtime_ns) {
  if (realtime_ns <= 0) return "-";
  const time_t secs = static_cast<time_t>(realtime_ns / 1'000'000'000);
  struct tm tm {};
  if (!gmtime_r(&secs, &tm)) return "-";
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%09" PRId64 "Z", date, realtime_ns % 1'000'000'000);
  return out;
}

// Seconds to ns for display; -1 (shown as "-") where that would overflow.
int64_t seconds_to_ns(int64_t s) {
  int64_t ns = 0;
  return __builtin_mul_overflow(s, int64_t{1'000'000'000}, &ns) ? -1 : ns;
}

double ratio_value(const snapshot::VcpuClock& v) {
  return std::ldexp(static_cast<double>(v.tsc_scaling_ratio), -static_cast<int>(v.tsc_scaling_frac_bits % 64));
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
  line(out, "captured:         %s (realtime %" PRId64 " ns), monotonic_raw %" PRId64 " ns",
       utc(s.captured.realtime_ns).c_str(), s.captured.realtime_ns, s.captured.monotonic_raw_ns);
  line(out, "kvmclock:         %" PRIu64 " ns, flags 0x%" PRIx32 " (%s), realtime %" PRIu64 " ns, host_tsc %" PRIu64,
       s.clock.clock_ns, s.clock.flags, clock_flag_names(s.clock.flags).c_str(), s.clock.realtime_ns,
       s.clock.host_tsc);
  line(out, "masterclock:      %s (evidence %s)", enum_label(s.masterclock.state).c_str(),
       enum_label(s.masterclock.evidence).c_str());
  line(out, "vcpus:            %zu", s.vcpus.size());
  // Offsets are stored mod 2^64; shown signed, as people think of them.
  line(out, "  %4s %21s %5s %10s %14s %20s %20s", "id", "tsc_offset(signed)", "valid", "tsc_khz", "scaling",
       "msr_tsc", "msr_tsc_adjust");
  for (const auto& v : s.vcpus) {
    char scaling[32];
    std::snprintf(scaling, sizeof scaling, "%.6f/%" PRIu32, ratio_value(v), v.tsc_scaling_frac_bits);
    line(out, "  %4" PRIu32 " %21" PRId64 " %5s %10" PRIu32 " %14s %20" PRIu64 " %20" PRIu64, v.id,
         static_cast<int64_t>(v.tsc_offset), v.tsc_offset_valid ? "yes" : "no", v.tsc_khz, scaling, v.msr_tsc,
         v.msr_tsc_adjust);
  }
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
    line(out, "rtc:              %s (%" PRId64 " s, from %s)", utc(seconds_to_ns(s.rtc.date_unix_s)).c_str(),
         s.rtc.date_unix_s, s.rtc.source.c_str());
  else
    line(out, "rtc:              absent");
  int64_t guest_minus_host = 0;
  if (s.guest_time && __builtin_sub_overflow(s.guest_time->guest_ns, s.guest_time->host_mid_ns, &guest_minus_host))
    guest_minus_host = 0;  // hostile values; the timestamps printed beside it say enough
  if (s.guest_time)
    line(out, "guest time:       %s at host %s (guest - host %" PRId64 " ns, rtt %" PRId64 " ns)",
         utc(s.guest_time->guest_ns).c_str(), utc(s.guest_time->host_mid_ns).c_str(),
         guest_minus_host, s.guest_time->rtt_ns);
  else
    line(out, "guest time:       not read");
  return out;
}

}  // namespace migclock::serialization
