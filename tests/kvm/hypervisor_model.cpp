#include "hypervisor_model.hpp"

#include <cerrno>

namespace migclock::kvm::model {

Result<kvm_clock_data> ModelHypervisor::get_clock() const {
  tick();
  kvm_clock_data d{};
  d.clock = kvmclock_ns();
  d.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
  d.realtime = static_cast<uint64_t>(realtime_ns());
  d.host_tsc = host_tsc();
  return d;
}

Status ModelHypervisor::set_clock(const kvm_clock_data& data) {
  tick();
  if (data.flags & ~(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC))
    return errno_error(EINVAL, "KVM_SET_CLOCK");
  uint64_t clock = data.clock;
  if (data.flags & KVM_CLOCK_REALTIME) {
    const int64_t now = realtime_ns();
    if (now > static_cast<int64_t>(data.realtime)) clock += static_cast<uint64_t>(now - static_cast<int64_t>(data.realtime));
  }
  set_kvmclock(clock);
  return {};
}

Status ModelHypervisor::set_vcpu_tsc_khz(size_t i, uint32_t khz) {
  tick();
  if (!scaling_) return errno_error(EINVAL, "KVM_SET_TSC_KHZ");
  Vcpu& v = vcpus_[i];
  v.khz = khz;
  v.scale.ratio = static_cast<uint64_t>((static_cast<unsigned __int128>(khz) << v.scale.frac_bits) / host_khz_);
  return {};
}

Status ModelHypervisor::set_msrs(size_t i, const uint32_t* indices, const uint64_t* values, size_t count) {
  tick();
  for (size_t k = 0; k < count; ++k) {
    if (indices[k] == msr::kIa32Tsc) vcpus_[i].offset = values[k] - scale_tsc(host_tsc(), vcpus_[i].scale);
    if (indices[k] == msr::kKvmSystemTimeNew) vcpus_[i].system_time_msr = values[k];
    if (indices[k] == msr::kKvmWallClockNew) vcpus_[i].wall_clock_msr = values[k];
    if (indices[k] == msr::kKvmStealTime) vcpus_[i].steal_time_msr = values[k];
    if (indices[k] == msr::kIa32TscAdjust) vcpus_[i].tsc_adjust = values[k];
  }
  return {};
}

Status ModelHypervisor::get_msrs(size_t i, const uint32_t* indices, uint64_t* values, size_t count) const {
  tick();
  for (size_t k = 0; k < count; ++k) {
    switch (indices[k]) {
      case msr::kIa32Tsc: values[k] = guest_tsc(i); break;
      case msr::kIa32TscAdjust: values[k] = vcpus_[i].tsc_adjust; break;
      case msr::kKvmSystemTimeNew: values[k] = vcpus_[i].system_time_msr; break;
      case msr::kKvmWallClockNew: values[k] = vcpus_[i].wall_clock_msr; break;
      case msr::kKvmStealTime: values[k] = vcpus_[i].steal_time_msr; break;
      default: return errno_error(EINVAL, "KVM_GET_MSRS");
    }
  }
  return {};
}

snapshot::Snapshot ModelHypervisor::capture() const {
  snapshot::Snapshot s;
  s.vm.name = "model";
  s.clock.clock_ns = kvmclock_ns();
  s.clock.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
  s.clock.realtime_ns = static_cast<uint64_t>(realtime_ns());
  s.clock.host_tsc = host_tsc();
  s.captured.realtime_ns = realtime_ns();
  s.captured.monotonic_raw_ns = t_ns_;
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    snapshot::VcpuClock c;
    c.id = static_cast<uint32_t>(i);
    c.tsc_offset = vcpus_[i].offset;
    c.tsc_offset_valid = true;
    c.msr_tsc = guest_tsc(i);
    c.msr_kvm_system_time = vcpus_[i].system_time_msr;
    c.tsc_khz = vcpus_[i].khz;
    c.tsc_scaling_ratio = vcpus_[i].scale.ratio;
    c.tsc_scaling_frac_bits = vcpus_[i].scale.frac_bits;
    s.vcpus.push_back(c);
  }
  return s;
}

}  // namespace migclock::kvm::model
