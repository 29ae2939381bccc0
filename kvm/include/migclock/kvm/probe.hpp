// Host capability probe: what this host's KVM can do for guest time, found
// by asking (KVM_CHECK_EXTENSION) and, for TSC offsets, by trying — an
// offset write that is accepted is not necessarily honoured (PVM ignores it).
#pragma once

#include <cstdint>
#include <string>

#include "migclock/kvm/system.hpp"

namespace migclock::kvm {

// Write an offset on a scratch VM, read it back, and let its guest execute
// rdtsc between two host rdtsc reads.
struct OffsetProbe {
  bool attempted = false;
  std::string not_attempted_reason;  // e.g. "missing vCPU attribute KVM_VCPU_TSC_OFFSET"
  uint64_t original = 0;             // offset before the write
  uint64_t written = 0;
  uint64_t read_back = 0;
  // Guest rdtsc minus the host rdtsc taken just before KVM_RUN: ≈ the
  // offset in effect (plus the entry latency in cycles).
  int64_t guest_minus_host_cycles = 0;
  bool read_back_matches = false;
  bool guest_follows = false;  // the guest's rdtsc moved by the written offset
  bool honoured() const { return attempted && read_back_matches && guest_follows; }
};

struct ProbeReport {
  int api_version = 0;
  uint32_t adjust_clock_flags = 0;  // KVM_CAP_ADJUST_CLOCK: KVM_CLOCK_* flags KVM_GET_CLOCK can return
  bool tsc_control = false;         // per-vCPU TSC scaling
  bool vm_tsc_control = false;      // VM-wide TSC frequency before vCPUs exist
  bool get_tsc_khz = false;
  bool kvmclock_ctrl = false;
  bool pit2 = false;
  bool pit_state2 = false;
  bool vcpu_attributes = false;
  bool tsc_offset_attr = false;     // KVM_VCPU_TSC_OFFSET on a vCPU
  uint32_t host_khz = 0;
  bool scaling_supported = false;
  std::string clocksource;
  // KVM_GET_CLOCK flags on the scratch VM after its vCPU ran.
  uint32_t clock_flags_after_run = 0;
  // The host clocksource is the TSC and KVM reported KVM_CLOCK_TSC_STABLE.
  bool masterclock_possible = false;
  OffsetProbe offset;
};

Result<ProbeReport> probe_host(const System& sys);

}  // namespace migclock::kvm
