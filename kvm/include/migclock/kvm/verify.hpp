// Verification after a restore: read back what the kernel now reports and
// say, per property, what was written, what is reported, and whether it
// holds. Nothing is assumed honoured because the write was accepted (PVM
// accepts TSC offset writes and ignores them).
#pragma once

#include <cstdint>
#include <vector>

#include "migclock/kvm/clock_target.hpp"
#include "migclock/kvm/restore.hpp"

namespace migclock::kvm {

struct OffsetCheck {
  uint32_t vcpu = 0;
  uint64_t written = 0;     // precise: the planned offset; by-value: the offset MSR_IA32_TSC implies
  uint64_t read_back = 0;
  bool holds = false;
};

// The kvmclock / wall clock / steal time / TSC_ADJUST MSRs, written by
// value: read back, they must equal the snapshot's.
struct MsrCheck {
  uint32_t vcpu = 0;
  uint32_t msr = 0;
  uint64_t written = 0;
  uint64_t read_back = 0;
  bool holds = false;
};

// One PIT channel after KVM_SET_PIT2. The kernel reloads every channel's
// count at the call (i8254.c pit_load_count): modes, counts and gates are
// kept, but the counting phase restarts, so count_load_time - what the
// advance/freeze policy sets - is not carried (channels 1-2 read back the
// time of the call; channel 0 reads back what was written while its
// hrtimer restarts at the call).
struct PitCheck {
  uint32_t channel = 0;
  bool state_holds = false;                // mode, rw_mode, count, gate read back as written
  int64_t count_load_time_written = 0;
  int64_t count_load_time_read_back = 0;
  bool load_time_holds = false;            // read back within kPitLoadTimeSlackNs of the write
};
inline constexpr int64_t kPitLoadTimeSlackNs = 10'000;

struct Verification {
  std::vector<OffsetCheck> offsets;
  std::vector<MsrCheck> msrs;
  bool msrs_hold = false;  // every by-value clock MSR reads back as written
  bool offsets_honoured = false;  // every vCPU's read-back is what the restore asked for
  // vCPUs whose source offsets matched read back one identical offset (the
  // masterclock needs matched offsets).
  bool offsets_matched = false;
  uint32_t clock_flags = 0;
  bool tsc_stable = false;        // KVM_CLOCK_TSC_STABLE (masterclock) now
  uint64_t clock_ns = 0;          // kvmclock now
  // kvmclock now is below the snapshot's (what the source guest last saw),
  // or below the destination's own value before the restore when a guest
  // there had already run.
  bool stepped_back = false;
  // PIT (only when the restore wrote one).
  std::vector<PitCheck> pit;
  bool pit_state_holds = false;
  bool pit_load_times_hold = false;
};

// In by-value mode a read-back within this many ns worth of cycles of the
// implied offset counts as honoured (the kernel's TSC-sync heuristic
// shifts later vCPUs onto vCPU 0's offset by the µs between the writes).
inline constexpr int64_t kByValueOffsetSlackNs = 1'000'000;

Result<Verification> verify(const ClockTarget& target, const snapshot::Snapshot& snap, const RestoreOutcome& outcome);

}  // namespace migclock::kvm
