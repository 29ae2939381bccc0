#include "migclock/kvm/clock_target.hpp"

#include <unistd.h>
#include <x86intrin.h>


#include "migclock/kvm/debugfs.hpp"
#include "migclock/kvm/host_facts.hpp"

namespace migclock::kvm {

Result<TscScale> KvmClockTarget::vcpu_scale(size_t vcpu) const {
  if (!scaling_supported_) return TscScale::identity();
  // A scaling host exposes the ratio KVM uses in debugfs (no ioctl reads it).
  auto vms = read_vm_debugfs(::getpid());
  if (!vms) return vms.error();
  for (const VmDebugfs& vm : *vms) {
    if (vm.vm_fd != vm_.fd()) continue;
    for (const VcpuDebugfs& v : vm.vcpus)
      if (v.id == vcpus_[vcpu].id() && v.tsc_scaling_ratio && v.tsc_scaling_frac_bits)
        return TscScale{*v.tsc_scaling_ratio, *v.tsc_scaling_frac_bits};
  }
  return make_error(errc::not_found, "vcpu " + std::to_string(vcpu) + ": no tsc-scaling-ratio in debugfs");
}

int64_t KvmClockTarget::monotonic_now_ns() const { return clock_monotonic_ns(); }

uint64_t KvmClockTarget::host_tsc_now() const { return __rdtsc(); }

}  // namespace migclock::kvm
