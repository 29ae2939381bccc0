#include "migclock/kvm/capability.hpp"

namespace migclock::kvm {

std::string_view capability_name(Capability cap) {
  switch (cap) {
    case Capability::adjust_clock: return "KVM_CAP_ADJUST_CLOCK";
    case Capability::tsc_control: return "KVM_CAP_TSC_CONTROL";
    case Capability::vm_tsc_control: return "KVM_CAP_VM_TSC_CONTROL";
    case Capability::get_tsc_khz: return "KVM_CAP_GET_TSC_KHZ";
    case Capability::kvmclock_ctrl: return "KVM_CAP_KVMCLOCK_CTRL";
    case Capability::pit2: return "KVM_CAP_PIT2";
    case Capability::pit_state2: return "KVM_CAP_PIT_STATE2";
    case Capability::vcpu_attributes: return "KVM_CAP_VCPU_ATTRIBUTES";
    case Capability::irqchip: return "KVM_CAP_IRQCHIP";
    case Capability::user_memory: return "KVM_CAP_USER_MEMORY";
    case Capability::tsc_deadline_timer: return "KVM_CAP_TSC_DEADLINE_TIMER";
  }
  return "KVM_CAP_?";
}

}  // namespace migclock::kvm
