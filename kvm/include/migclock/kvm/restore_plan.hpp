// The restore's decisions and arithmetic, with no ioctls: what may be
// restored (admission), what KVM_SET_CLOCK gets, the per-vCPU TSC offsets,
// the PIT rebase. Pure functions, so the model tests can check them against
// the kernel's documented TSC semantics on hosts that ignore offset writes.
//
// Kernel semantics modelled (Documentation/virt/kvm/devices/vcpu.rst,
// KVM_VCPU_TSC_OFFSET; api.rst, KVM_SET_TSC_KHZ):
//   guest_tsc = (host_tsc * ratio >> frac_bits) + offset   (mod 2^64)
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::kvm {

struct TscScale {
  uint64_t ratio = 1ull << 48;
  uint32_t frac_bits = 48;
  static TscScale identity(uint32_t frac_bits = 48) { return {1ull << frac_bits, frac_bits}; }
};

// (host_tsc * ratio) >> frac_bits, on 128 bits as the kernel does.
uint64_t scale_tsc(uint64_t host_tsc, TscScale scale);
uint64_t guest_tsc_at(uint64_t host_tsc, TscScale scale, uint64_t offset);
// ns * khz / 1e6 on 128 bits, signed (cycles for an elapsed time).
int64_t ns_to_cycles(int64_t ns, uint32_t khz);

enum class ClockMode {
  precise,   // KVM_SET_CLOCK with KVM_CLOCK_REALTIME, TSC offsets advanced by the elapsed time
  by_value,  // as QEMU does: kvmclock and MSR_IA32_TSC restored to their captured values
};
enum class PitPolicy {
  advance,  // the PIT counts through the blackout (count_load_time moved back by the elapsed time)
  freeze,   // the PIT resumes where it stopped (QEMU's behaviour)
};

const char* clock_mode_name(ClockMode mode);  // "precise" / "by-value"
Result<ClockMode> parse_clock_mode(const std::string& name);

struct RestorePolicy {
  ClockMode mode = ClockMode::precise;
  PitPolicy pit = PitPolicy::advance;
  // Snapshot realtime ahead of the destination's by more than this is
  // refused: the hosts' clocks disagree and KVM would not advance kvmclock.
  int64_t future_tolerance_ns = 100'000'000;
  bool force_future = false;
  // KVM's own tolerance for "same TSC rate" (tsc_tolerance_ppm).
  uint32_t tsc_tolerance_ppm = 250;
  // Destination CLOCK_REALTIME minus the source's, as the controller measured
  // it (docs/protocol.md §2). The snapshot's realtime was read on the
  // source's clock, and KVM_CLOCK_REALTIME compares it with this host's: it
  // is moved onto this host's clock first, or the blackout would absorb the
  // hosts' disagreement. 0 on one host.
  int64_t realtime_offset_ns = 0;
};

// The snapshot's capture instant on this host's CLOCK_REALTIME (kvm_clock
// realtime, or the capture timestamp when `clock_tuple` is false).
int64_t source_realtime_here(const snapshot::Snapshot& snap, const RestorePolicy& policy, bool clock_tuple = true);

// What the destination is, as far as admission needs to know.
struct DestinationFacts {
  uint32_t vcpus = 0;
  uint32_t tsc_khz = 0;            // the destination VM's default guest TSC rate
  bool scaling_supported = false;  // KVM_CAP_TSC_CONTROL / VM_TSC_CONTROL
  int64_t realtime_now_ns = 0;
  // The destination's kvmclock before the restore, when a guest has seen it
  // (a vCPU has run); 0 for a fresh VM, whose clock no guest has read.
  uint64_t current_clock_ns = 0;
};

struct Admission {
  bool set_tsc_khz = false;  // rates differ beyond tolerance and the host scales
  uint32_t tsc_khz = 0;      // the guest's rate
  bool degraded = false;     // precise mode without a valid snapshot realtime/host_tsc
  std::string degraded_reason;
  kvm_clock_data clock{};    // what KVM_SET_CLOCK gets
};

// Refuses (vcpu_count_mismatch, tsc_frequency_mismatch, realtime_in_future,
// would_step_backwards, validation_failed) or says how to restore.
Result<Admission> admit(const snapshot::Snapshot& snap, const DestinationFacts& dst, const RestorePolicy& policy);

// The MSRs a restore writes by value in every mode (MSR_IA32_TSC is added
// in by-value mode only), and their snapshot values, in the same order.
inline constexpr std::array<uint32_t, 4> kByValueMsrs = {0x4b564d01 /* KVM_SYSTEM_TIME_NEW */,
                                                         0x4b564d00 /* KVM_WALL_CLOCK_NEW */,
                                                         0x4b564d03 /* KVM_STEAL_TIME */, 0x3b /* IA32_TSC_ADJUST */};
std::array<uint64_t, 4> by_value_msr_values(const snapshot::VcpuClock& c);

// The source guest TSC of vCPU i at the KVM_GET_CLOCK instant. Exact when
// the snapshot's host_tsc is valid; otherwise MSR_IA32_TSC, read a few µs
// after that instant (exact = false).
struct SourceTsc {
  uint64_t guest_tsc = 0;
  bool exact = false;
};
SourceTsc source_guest_tsc(const snapshot::Snapshot& snap, size_t vcpu);

// The destination's KVM_GET_CLOCK after KVM_SET_CLOCK: guest ns and host TSC
// at one instant.
struct DestinationClock {
  uint64_t clock_ns = 0;
  uint64_t host_tsc = 0;
};

// Per-vCPU offsets so each guest TSC reads its source value advanced by
// (dst.clock_ns - snap.clock.clock_ns) at the guest's rate:
//   guest_tsc_dst = guest_tsc_src + (guest_dst - guest_src) * khz / 1e6
//   ofs_dst       = guest_tsc_dst - (host_tsc_dst * ratio_dst >> frac_dst)
// vCPUs whose source offsets and scaling matched get one identical offset.
std::vector<uint64_t> plan_tsc_offsets(const snapshot::Snapshot& snap, const DestinationClock& dst,
                                       const std::vector<TscScale>& dst_scale);

// The PIT for KVM_SET_PIT2 on a destination whose CLOCK_MONOTONIC reads
// `dst_mono_now_ns`; `elapsed_ns` is the blackout (advance policy only).
kvm_pit_state2 rebase_pit(const snapshot::PitState& pit, int64_t captured_monotonic_raw_ns, int64_t dst_mono_now_ns,
                          int64_t elapsed_ns, PitPolicy policy);

}  // namespace migclock::kvm
