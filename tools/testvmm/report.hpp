// The continuity report of one restore: what the guest saw after resume
// against what continuous time would have shown it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migclock/kvm/verify.hpp"

namespace migclock::testvmm {

struct VcpuReading {
  uint32_t vcpu = 0;
  uint64_t guest_kvmclock_ns = 0;
  uint64_t guest_tsc = 0;
  int64_t kvmclock_error_ns = 0;
  // The same error against CLOCK_REALTIME read by this process just before
  // and after the KVM_RUN in which the guest read: bounds that do not lean
  // on KVM's own (clock, realtime) pairing, as wide as that KVM_RUN.
  int64_t kvmclock_error_min_ns = 0;
  int64_t kvmclock_error_max_ns = 0;
  bool in_bracket = false;  // KVM_GET_CLOCK before <= guest kvmclock <= KVM_GET_CLOCK after
};

// The realtime offset between the hosts the restore corrected for.
struct OffsetInputs {
  int64_t offset_ns = 0;       // destination realtime − source realtime
  int64_t uncertainty_ns = 0;  // -1: not measured
  std::string evidence;
};

struct ContinuityReport {
  std::string mode;
  uint32_t vcpus = 0;
  int64_t pause_ms = 0;
  std::optional<int64_t> capture_us;  // known when this process or its parent captured
  int64_t restore_us = 0;
  std::optional<OffsetInputs> realtime_offset;  // set when one was given
  int64_t blackout_ns = 0;  // wall time from the source's KVM_GET_CLOCK to the first guest read
  // The guest's first kvmclock read after resume minus the ideal: its value
  // at pause plus the realtime elapsed until that read (vCPU 0).
  int64_t kvmclock_error_ns = 0;
  bool stepped_back = false;
  bool tsc_honoured = false;
  std::optional<int64_t> tsc_error_cycles;  // only when the host honours TSC writes
  bool offsets_matched = false;
  bool clock_msrs_hold = false;  // kvmclock/wall clock/steal time/TSC_ADJUST read back as written
  bool tsc_stable = false;
  bool degraded = false;
  std::string degraded_reason;
  uint32_t kvmclock_ctrl_einval = 0;
  bool pit_restored = false;
  bool pit_state_holds = false;      // modes, counts, gates read back as written
  bool pit_load_times_hold = false;  // count_load_time kept (the kernel restarts counts: no)
  std::vector<VcpuReading> readings;
  std::vector<kvm::OffsetCheck> offsets;
  bool continuity_violated = false;
  std::vector<std::string> violations;
};

std::string to_json(const ContinuityReport& r);
std::string to_text(const ContinuityReport& r);

}  // namespace migclock::testvmm
