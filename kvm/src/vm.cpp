#include "migclock/kvm/vm.hpp"

#include "migclock/kvm/ioctl.hpp"

namespace migclock::kvm {

Result<int> Vm::check_extension(Capability cap) const {
  return MIGCLOCK_IOCTL(fd_.get(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
}

Result<Vcpu> Vm::create_vcpu(uint32_t id) const {
  auto r = MIGCLOCK_IOCTL(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  if (!r) return Error{r.error().code, "vcpu " + std::to_string(id) + ": " + r.error().context};
  Fd fd(*r);
  auto run = Mapping::map_fd(fd.get(), vcpu_mmap_size_, "kvm_run");
  if (!run) return run.error();
  return Vcpu(std::move(fd), std::move(*run), id);
}

Status Vm::set_user_memory_region(uint32_t slot, uint64_t gpa, const Mapping& memory) const {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = gpa;
  region.memory_size = memory.size();
  region.userspace_addr = reinterpret_cast<uint64_t>(memory.data());
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region);
}

Status Vm::create_irqchip() const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_CREATE_IRQCHIP, 0ul);
}

Status Vm::create_pit2() const {
  kvm_pit_config config{};
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_CREATE_PIT2, &config);
}

Result<kvm_clock_data> Vm::get_clock() const {
  return MIGCLOCK_IOCTL_READ(kvm_clock_data, fd_.get(), KVM_GET_CLOCK);
}

Status Vm::set_clock(const kvm_clock_data& data) const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_CLOCK, &data);
}

Result<kvm_pit_state2> Vm::get_pit2() const {
  return MIGCLOCK_IOCTL_READ(kvm_pit_state2, fd_.get(), KVM_GET_PIT2);
}

Status Vm::set_pit2(const kvm_pit_state2& state) const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_PIT2, &state);
}

Result<uint32_t> Vm::get_tsc_khz() const {
  auto r = MIGCLOCK_IOCTL(fd_.get(), KVM_GET_TSC_KHZ, 0ul);
  if (!r) return r.error();
  return static_cast<uint32_t>(*r);
}

Status Vm::set_tsc_khz(uint32_t khz) const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_TSC_KHZ, static_cast<unsigned long>(khz));
}

}  // namespace migclock::kvm
