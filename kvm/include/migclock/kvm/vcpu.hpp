// Vcpu: the owner of one vCPU fd and its mmap'ed struct kvm_run. Only
// per-vCPU state lives here; each call is one ioctl (~6 µs on PVM), so the
// MSR calls take a batch.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>

#include "migclock/kvm/fd.hpp"

namespace migclock::kvm {

class Vm;

class Vcpu {
 public:
  // Largest MSR batch in one KVM_GET/SET_MSRS (clock state needs 5).
  static constexpr size_t kMaxMsrBatch = 16;

  uint32_t id() const noexcept { return id_; }
  int fd() const noexcept { return fd_.get(); }

  // KVM_RUN until the next exit to userspace; returns kvm_run::exit_reason.
  Result<uint32_t> run() const;
  kvm_run* run_state() const noexcept { return static_cast<kvm_run*>(run_.data()); }

  Result<kvm_regs> get_regs() const;
  Status set_regs(const kvm_regs& regs) const;
  Result<kvm_sregs> get_sregs() const;
  Status set_sregs(const kvm_sregs& sregs) const;
  Status set_mp_state(uint32_t state) const;

  // One KVM_GET_MSRS for `count` MSRs; fails (naming the first MSR the
  // kernel refused) unless all are read.
  Status get_msrs(const uint32_t* indices, uint64_t* values, size_t count) const;
  Status set_msrs(const uint32_t* indices, const uint64_t* values, size_t count) const;

  // KVM_VCPU_TSC_CTRL / KVM_VCPU_TSC_OFFSET device attribute.
  Result<bool> has_tsc_offset_attr() const;
  Result<uint64_t> get_tsc_offset() const;
  Status set_tsc_offset(uint64_t offset) const;

  Result<uint32_t> get_tsc_khz() const;
  Status set_tsc_khz(uint32_t khz) const;
  // Tells the guest it was paused (PVCLOCK_GUEST_STOPPED) so its soft-lockup
  // watchdog does not fire. EINVAL when the guest has no kvmclock.
  Status kvmclock_ctrl() const;

 private:
  friend class Vm;
  Vcpu(Fd fd, Mapping run, uint32_t id) : fd_(std::move(fd)), run_(std::move(run)), id_(id) {}
  Fd fd_;
  Mapping run_;
  uint32_t id_ = 0;
};

}  // namespace migclock::kvm
