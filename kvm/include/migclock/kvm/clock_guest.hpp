// ClockGuest: a VM this process owns running a tiny real-mode guest, one per
// testvmm and per probe. Each vCPU's guest enables kvmclock (writes
// MSR_KVM_SYSTEM_TIME_NEW with its own pvclock area) and then loops:
// copy the pvclock version, rdtsc, store, `out` to port 0x10. Each exit to
// userspace therefore carries one guest rdtsc, and the host computes exactly
// the kvmclock value the guest would derive from it (pvclock math below).
// `out` is the exit because with an in-kernel irqchip `hlt` stays in the kernel.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "migclock/kvm/system.hpp"

namespace migclock::kvm {

// struct pvclock_vcpu_time_info (arch/x86/include/asm/pvclock-abi.h).
struct PvclockTimeInfo {
  uint32_t version;
  uint32_t pad0;
  uint64_t tsc_timestamp;
  uint64_t system_time;
  uint32_t tsc_to_system_mul;
  int8_t tsc_shift;
  uint8_t flags;
  uint8_t pad[2];
};
static_assert(sizeof(PvclockTimeInfo) == 32);

// kvmclock as a guest reads it: system_time + scale(tsc - tsc_timestamp).
uint64_t pvclock_read_ns(const PvclockTimeInfo& info, uint64_t guest_tsc);

struct GuestSample {
  uint64_t guest_tsc = 0;     // what the guest's rdtsc returned
  uint64_t kvmclock_ns = 0;   // the kvmclock the guest derives from it
  PvclockTimeInfo pvclock{};  // the pvclock area it was derived from
};

class ClockGuest {
 public:
  // boot: start at the guest's first instruction (it enables kvmclock).
  // resume: start at its sampling loop, as after a migration, where the
  // restore has already written the kvmclock MSRs.
  enum class Entry { boot, resume };

  // Runs before any vCPU exists (a restore sets the VM's TSC rate there).
  using BeforeVcpus = std::function<Status(const Vm&)>;

  static Result<ClockGuest> create(const System& sys, uint32_t vcpus, Entry entry = Entry::boot,
                                   const BeforeVcpus& before_vcpus = {});

  // KVM_RUN `vcpu` until it reports a sample whose pvclock area was stable
  // (same even version before and after the rdtsc).
  Result<GuestSample> sample(uint32_t vcpu) const;

  const Vm& vm() const { return vm_; }
  const std::vector<Vcpu>& vcpus() const { return vcpus_; }
  uint64_t pvclock_gpa(uint32_t vcpu) const;
  // What MSR_KVM_SYSTEM_TIME_NEW holds once the guest has enabled kvmclock.
  uint64_t system_time_msr(uint32_t vcpu) const { return pvclock_gpa(vcpu) | 1; }

  static constexpr uint32_t kMaxVcpus = 64;
  static constexpr uint16_t kSamplePort = 0x10;

 private:
  ClockGuest(Vm vm, Mapping memory) : vm_(std::move(vm)), memory_(std::move(memory)) {}
  Status add_vcpu(uint32_t id, Entry entry);
  Status reset_pit() const;

  Vm vm_;
  Mapping memory_;
  std::vector<Vcpu> vcpus_;
};

}  // namespace migclock::kvm
