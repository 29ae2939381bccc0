#include "migclock/kvm/tsc_frequency.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cmath>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include "migclock/common/time_source.hpp"

namespace migclock::kvm {

std::optional<TscFrequency> tsc_frequency_from_cpuid(const CpuidTscLeaves& l) {
  // 0x15 states the TSC rate exactly when it enumerates the crystal.
  if (l.max_leaf >= 0x15 && l.l15_eax != 0 && l.l15_ebx != 0 && l.l15_ecx != 0) {
    const uint64_t hz = static_cast<uint64_t>(l.l15_ecx) * l.l15_ebx / l.l15_eax;
    if (hz / 1000 > 0 && hz / 1000 <= UINT32_MAX)
      return TscFrequency{static_cast<uint32_t>(hz / 1000), snapshot::TscKhzSource::cpuid,
                          "CPUID.15H: crystal " + std::to_string(l.l15_ecx) + " Hz x " + std::to_string(l.l15_ebx) +
                              "/" + std::to_string(l.l15_eax)};
  }
  // 0x16 is the base (nominal) frequency: on processors with an invariant
  // TSC the TSC runs at it, to the MHz.
  if (l.max_leaf >= 0x16 && (l.l16_eax & 0xFFFF) != 0) {
    const uint32_t mhz = l.l16_eax & 0xFFFF;
    return TscFrequency{mhz * 1000u, snapshot::TscKhzSource::cpuid,
                        "CPUID.16H: base frequency " + std::to_string(mhz) + " MHz"};
  }
  return std::nullopt;
}

CpuidTscLeaves read_cpuid_tsc_leaves() {
  CpuidTscLeaves l;
#if defined(__x86_64__) || defined(__i386__)
  l.max_leaf = __get_cpuid_max(0, nullptr);
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (l.max_leaf >= 0x15) {
    __cpuid_count(0x15, 0, a, b, c, d);
    l.l15_eax = a, l.l15_ebx = b, l.l15_ecx = c;
  }
  if (l.max_leaf >= 0x16) {
    __cpuid_count(0x16, 0, a, b, c, d);
    l.l16_eax = a;
  }
#endif
  return l;
}

Result<TscRate> tsc_rate_between(const TscClockPair& a, const TscClockPair& b) {
  const int64_t dns = b.mono_raw_ns - a.mono_raw_ns;
  if (dns <= 0 || b.tsc <= a.tsc)
    return make_error(errc::invalid_argument, "TSC calibration: the readings do not move forward");
  TscRate r;
  r.khz = static_cast<double>(b.tsc - a.tsc) * 1e6 / static_cast<double>(dns);
  // Each reading is somewhere inside its bracket: half of each width.
  r.uncertainty_ppm = (a.bracket_ns + b.bracket_ns) / 2.0 / static_cast<double>(dns) * 1e6;
  return r;
}

namespace {

// The narrowest of several clock brackets around rdtsc: a preemption
// between the reads widens one bracket, not the best one.
TscClockPair read_pair() {
  TscClockPair best;
  best.bracket_ns = INT64_MAX;
#if defined(__x86_64__) || defined(__i386__)
  // Fetched once, outside the brackets (the class is final: direct calls).
  const SystemTimeSource& clock = SystemTimeSource::instance();
  for (int i = 0; i < 16; ++i) {
    const int64_t before = clock.monotonic_raw_ns();
    const uint64_t tsc = __rdtsc();
    const int64_t after = clock.monotonic_raw_ns();
    if (after - before < best.bracket_ns) best = {tsc, before + (after - before) / 2, after - before};
  }
#endif
  return best;
}

}  // namespace

Result<TscFrequency> calibrate_tsc_khz(int rounds, int window_ms) {
#if !(defined(__x86_64__) || defined(__i386__))
  (void)rounds, (void)window_ms;
  return make_error(errc::not_supported, "TSC calibration: not an x86 processor");
#else
  if (rounds < 1 || window_ms < 1) return make_error(errc::invalid_argument, "TSC calibration: rounds and window must be > 0");
  std::vector<double> khz;
  double worst_ppm = 0;
  for (int i = 0; i < rounds; ++i) {
    const TscClockPair a = read_pair();
    std::this_thread::sleep_for(std::chrono::milliseconds(window_ms));
    const TscClockPair b = read_pair();
    auto rate = tsc_rate_between(a, b);
    if (!rate) return rate.error();
    khz.push_back(rate->khz);
    worst_ppm = std::max(worst_ppm, rate->uncertainty_ppm);
  }
  std::sort(khz.begin(), khz.end());
  const double median = khz[khz.size() / 2];
  const double spread_ppm = (khz.back() - khz.front()) / median * 1e6;
  if (spread_ppm > 100)
    return make_error(errc::unavailable, "TSC calibration: " + std::to_string(rounds) + " windows disagree by " +
                                             std::to_string(static_cast<int>(spread_ppm)) +
                                             " ppm (TSC not constant, or the host too busy to time it)");
  if (median < 1 || median > UINT32_MAX)
    return make_error(errc::unavailable, "TSC calibration: implausible rate " + std::to_string(median) + " kHz");
  char detail[160];
  std::snprintf(detail, sizeof detail, "rdtsc vs CLOCK_MONOTONIC_RAW, %d x %d ms, spread %.1f ppm, bracket %.2f ppm",
                rounds, window_ms, spread_ppm, worst_ppm);
  return TscFrequency{static_cast<uint32_t>(std::lround(median)), snapshot::TscKhzSource::calibration, detail};
#endif
}

}  // namespace migclock::kvm
