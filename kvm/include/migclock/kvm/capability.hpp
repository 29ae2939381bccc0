// The KVM capabilities migclock asks about, named. Values are the kernel's
// KVM_CAP_* numbers so a Capability goes straight into KVM_CHECK_EXTENSION.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <string_view>

namespace migclock::kvm {

enum class Capability : int {
  adjust_clock = KVM_CAP_ADJUST_CLOCK,        // KVM_GET/SET_CLOCK; returns the flag mask
  tsc_control = KVM_CAP_TSC_CONTROL,          // per-vCPU KVM_SET_TSC_KHZ (TSC scaling)
  vm_tsc_control = KVM_CAP_VM_TSC_CONTROL,    // VM-wide KVM_SET_TSC_KHZ before vCPUs exist
  get_tsc_khz = KVM_CAP_GET_TSC_KHZ,
  kvmclock_ctrl = KVM_CAP_KVMCLOCK_CTRL,      // KVM_KVMCLOCK_CTRL (soft-lockup watchdog)
  pit2 = KVM_CAP_PIT2,
  pit_state2 = KVM_CAP_PIT_STATE2,            // KVM_GET/SET_PIT2
  vcpu_attributes = KVM_CAP_VCPU_ATTRIBUTES,  // KVM_VCPU_TSC_OFFSET lives here
  irqchip = KVM_CAP_IRQCHIP,
  user_memory = KVM_CAP_USER_MEMORY,
  tsc_deadline_timer = KVM_CAP_TSC_DEADLINE_TIMER,
};

inline constexpr std::array<Capability, 11> kAllCapabilities = {
    Capability::adjust_clock,  Capability::tsc_control, Capability::vm_tsc_control,  Capability::get_tsc_khz,
    Capability::kvmclock_ctrl, Capability::pit2,        Capability::pit_state2,      Capability::vcpu_attributes,
    Capability::irqchip,       Capability::user_memory, Capability::tsc_deadline_timer,
};

// "KVM_CAP_ADJUST_CLOCK", for reports and skip reasons.
std::string_view capability_name(Capability cap);

}  // namespace migclock::kvm
