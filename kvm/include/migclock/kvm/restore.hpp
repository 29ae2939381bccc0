// Restore of a snapshot onto a destination VM this process owns (created by
// a different process than the source's). Order, from the kernel's
// documented precise-restore algorithm (devices/vcpu.rst, KVM_VCPU_TSC_OFFSET):
//   0. prepare_destination_vm: the TSC rate, VM-wide, before vCPUs exist;
//   1. admission (restore_plan.hpp): refuse what cannot be honoured;
//   2. per vCPU, one KVM_SET_MSRS: kvmclock, wall clock, steal time,
//      TSC_ADJUST (and MSR_IA32_TSC in by-value mode);
//   3. KVM_SET_CLOCK (KVM_CLOCK_REALTIME in precise mode: KVM advances
//      kvmclock by the elapsed wall time and never steps it back);
//   4. precise mode: KVM_GET_CLOCK, then the scaling-aware TSC offsets;
//   5. PIT with count_load_time rebased (policy: advance or freeze);
//   6. KVM_KVMCLOCK_CTRL on every vCPU (EINVAL without a guest kvmclock:
//      counted, not fatal).
// No vCPU may run before restore() returns.
#pragma once

#include <string>
#include <vector>

#include "migclock/common/time_source.hpp"
#include "migclock/kvm/clock_target.hpp"
#include "migclock/kvm/restore_plan.hpp"
#include "migclock/kvm/system.hpp"

namespace migclock::kvm {

struct RestoreOutcome {
  ClockMode mode = ClockMode::precise;
  Admission admission;
  uint64_t clock_before_ns = 0;           // destination kvmclock before the restore
  DestinationClock clock_after_set;       // KVM_GET_CLOCK right after KVM_SET_CLOCK
  bool clock_after_set_has_host_tsc = false;
  int64_t elapsed_ns = 0;                 // clock_after_set - snapshot clock
  std::vector<uint64_t> offsets_written;  // precise mode; empty in by-value mode
  bool offsets_from_exact_tsc = false;    // source guest TSC from host_tsc (not MSR_IA32_TSC)
  // Host TSC around the KVM_SET_MSRS calls: in by-value mode a host that
  // honours MSR_IA32_TSC sets offset = msr_tsc - host_tsc within this bracket.
  uint64_t msr_write_host_tsc_before = 0;
  uint64_t msr_write_host_tsc_after = 0;
  bool pit_restored = false;
  kvm_pit_state2 pit_written{};           // what KVM_SET_PIT2 got (pit_restored)
  uint32_t kvmclock_ctrl_ok = 0;
  uint32_t kvmclock_ctrl_einval = 0;      // vCPUs without a guest kvmclock
};

// Before any vCPU exists: set the VM's TSC rate when the snapshot's differs
// beyond the tolerance and KVM_CAP_VM_TSC_CONTROL allows it. Returns whether
// it did.
Result<bool> prepare_destination_vm(const System& sys, const Vm& vm, const snapshot::Snapshot& snap,
                                    const RestorePolicy& policy);

Result<RestoreOutcome> restore(ClockTarget& target, const snapshot::Snapshot& snap, const RestorePolicy& policy,
                               const TimeSource& time);

}  // namespace migclock::kvm
