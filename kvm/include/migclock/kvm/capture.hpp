// Capture of an owned VM's clock state into a snapshot::Snapshot, after its
// vCPUs have stopped (no KVM_RUN in flight).
//
// Cost model (PVM here: a VM ioctl ≈ 0.3 µs, a vCPU ioctl ≈ 6-7 µs): per VM
// KVM_GET_CLOCK, KVM_GET_TSC_KHZ, KVM_GET_PIT2; per vCPU exactly one
// KVM_GET_MSRS (all five clock MSRs) and one KVM_GET_DEVICE_ATTR (the TSC
// offset). Host facts are read once per VMM, not per capture.
#pragma once

#include <vector>

#include "migclock/common/time_source.hpp"
#include "migclock/kvm/vm.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::kvm {

struct CaptureContext {
  const TimeSource* time = &SystemTimeSource::instance();
  // collect_host_facts() + the probe's verdicts, gathered once.
  snapshot::HostFacts host;
  snapshot::VmIdentity vm;
  // The VMM never sets a per-vCPU TSC rate, so every vCPU runs at the VM's
  // default and one VM ioctl answers for all. Set when a VMM does set
  // per-vCPU rates: then each vCPU is asked (one more vCPU ioctl each).
  bool per_vcpu_tsc_khz = false;
  // Where the host scales the TSC, the ratio is read from debugfs.
  std::string debugfs_root = "/sys/kernel/debug/kvm";
};

Result<snapshot::Snapshot> capture(const Vm& vm, const std::vector<Vcpu>& vcpus, const CaptureContext& ctx);

}  // namespace migclock::kvm
