// The host TSC frequency without /dev/kvm. KVM_GET_TSC_KHZ is the
// authoritative source where KVM exists; these are the fall-backs the agent
// uses on a host where it does not (a PVM guest kernel, a TCG-only host):
// CPUID leaves 0x15/0x16 as the processor states them, else a measurement
// of the TSC against CLOCK_MONOTONIC_RAW. Each result says where it came
// from; none is guessed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "migclock/common/result.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::kvm {

struct TscFrequency {
  uint32_t khz = 0;
  snapshot::TscKhzSource source = snapshot::TscKhzSource::unknown;
  std::string detail;  // e.g. "CPUID.15H: crystal 25000000 Hz x 184/2"
};

// The registers of the leaves that state the TSC rate (Intel SDM vol. 2,
// CPUID): 0x15 EAX/EBX = TSC/crystal ratio, ECX = crystal Hz (0: not
// enumerated); 0x16 EAX = processor base frequency in MHz.
struct CpuidTscLeaves {
  uint32_t max_leaf = 0;
  uint32_t l15_eax = 0, l15_ebx = 0, l15_ecx = 0;
  uint32_t l16_eax = 0;
};

// Pure: the frequency the leaves state, or nullopt when they state none
// (leaf absent, or zeros, as on most virtual CPUs).
std::optional<TscFrequency> tsc_frequency_from_cpuid(const CpuidTscLeaves& leaves);
// The leaves of the CPU this runs on (x86-64; elsewhere max_leaf 0).
CpuidTscLeaves read_cpuid_tsc_leaves();

// Two (TSC, CLOCK_MONOTONIC_RAW) readings; the ns one is the middle of the
// narrowest bracket of clock reads around rdtsc.
struct TscClockPair {
  uint64_t tsc = 0;
  int64_t mono_raw_ns = 0;
  int64_t bracket_ns = 0;  // width of the bracket: the reading's uncertainty
};
// Pure: kHz between two pairs, and the relative uncertainty (ppm) the two
// brackets allow; error when the pairs do not move forward.
struct TscRate {
  double khz = 0;
  double uncertainty_ppm = 0;
};
Result<TscRate> tsc_rate_between(const TscClockPair& a, const TscClockPair& b);

// Measures the TSC against CLOCK_MONOTONIC_RAW over `rounds` windows of
// `window_ms` each and takes the median, rounded to a kHz. Costs about
// rounds x window_ms of wall time (the default: 150 ms). Error when the
// measurements disagree by more than 100 ppm (the TSC is not constant, or
// the host was too busy to time it).
Result<TscFrequency> calibrate_tsc_khz(int rounds = 3, int window_ms = 50);

}  // namespace migclock::kvm
