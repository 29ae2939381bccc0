// Vm: the owner of one VM fd. VM-wide clock state lives here (KVM_GET/
// SET_CLOCK, PIT, the VM's default TSC frequency), so capture and restore
// ask the VM once instead of every vCPU.
//
// KVM refuses VM and vCPU ioctls from any process but the creator (-EIO when
// kvm->mm != current->mm), so a Vm is only useful in the process that made it.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include "migclock/kvm/capability.hpp"
#include "migclock/kvm/fd.hpp"
#include "migclock/kvm/vcpu.hpp"

namespace migclock::kvm {

class System;

class Vm {
 public:
  Result<int> check_extension(Capability cap) const;

  Result<Vcpu> create_vcpu(uint32_t id) const;
  // Backs guest physical [gpa, gpa + memory.size()) with `memory`, which
  // must outlive the VM.
  Status set_user_memory_region(uint32_t slot, uint64_t gpa, const Mapping& memory) const;
  // In-kernel LAPIC/IOAPIC/PIC; a PIT needs it. Before any vCPU exists.
  Status create_irqchip() const;
  Status create_pit2() const;

  Result<kvm_clock_data> get_clock() const;
  Status set_clock(const kvm_clock_data& data) const;
  Result<kvm_pit_state2> get_pit2() const;
  Status set_pit2(const kvm_pit_state2& state) const;
  // The VM's default guest TSC frequency (new vCPUs start with it).
  Result<uint32_t> get_tsc_khz() const;
  // Only before any vCPU exists, only with KVM_CAP_VM_TSC_CONTROL.
  Status set_tsc_khz(uint32_t khz) const;

  int fd() const noexcept { return fd_.get(); }

 private:
  friend class System;
  Vm(Fd fd, size_t vcpu_mmap_size) : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}
  Fd fd_;
  size_t vcpu_mmap_size_ = 0;
};

}  // namespace migclock::kvm
