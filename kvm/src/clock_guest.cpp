#include "migclock/kvm/clock_guest.hpp"

#include <cstring>
#include <string>

namespace migclock::kvm {
namespace {

// Guest physical layout (all below 64 KiB: real mode, DS = 0).
constexpr uint64_t kMemorySize = 0x10000;
constexpr uint64_t kCodeGpa = 0x1000;
constexpr uint64_t kLoopOffset = 0x12;     // first instruction after wrmsr
constexpr uint64_t kPvclockGpa = 0x2000;   // 32-byte pvclock area per vCPU
constexpr uint64_t kSampleGpa = 0x3000;    // 16-byte sample per vCPU

// Assembled from (GNU as, .code16):
//   mov $0x4b564d01,%ecx; mov %esi,%eax; or $1,%eax; xor %edx,%edx; wrmsr
// 1: mov (%si),%eax; mov %eax,(%di)          # pvclock version
//    rdtsc; mov %eax,4(%di); mov %edx,8(%di) # guest TSC
//    out %al,$0x10; jmp 1b
constexpr uint8_t kGuestCode[] = {
    0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b, 0x66, 0x89, 0xf0, 0x66, 0x83, 0xc8, 0x01, 0x66, 0x31, 0xd2, 0x0f, 0x30, 0x66,
    0x8b, 0x04, 0x66, 0x89, 0x05, 0x0f, 0x31, 0x66, 0x89, 0x45, 0x04, 0x66, 0x89, 0x55, 0x08, 0xe6, 0x10, 0xeb, 0xec,
};

struct RawSample {
  uint32_t version;
  uint32_t tsc_lo;
  uint32_t tsc_hi;
  uint32_t pad;
};

std::string exit_name(uint32_t reason) {
  switch (reason) {
    case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
    case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
    case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
    default: return "exit reason " + std::to_string(reason);
  }
}

}  // namespace

uint64_t pvclock_read_ns(const PvclockTimeInfo& info, uint64_t guest_tsc) {
  uint64_t delta = guest_tsc - info.tsc_timestamp;
  if (info.tsc_shift < 0)
    delta >>= -info.tsc_shift;
  else
    delta <<= info.tsc_shift;
  auto scaled = static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * info.tsc_to_system_mul) >> 32);
  return info.system_time + scaled;
}

Result<ClockGuest> ClockGuest::create(const System& sys, uint32_t vcpus, Entry entry,
                                      const BeforeVcpus& before_vcpus) {
  if (vcpus == 0 || vcpus > kMaxVcpus)
    return make_error(errc::invalid_argument, "vcpus must be 1.." + std::to_string(kMaxVcpus));
  auto vm = sys.create_vm();
  if (!vm) return vm.error();
  auto memory = Mapping::anonymous(kMemorySize);
  if (!memory) return memory.error();
  std::memcpy(static_cast<uint8_t*>(memory->data()) + kCodeGpa, kGuestCode, sizeof kGuestCode);
  ClockGuest guest(std::move(*vm), std::move(*memory));
  MIGCLOCK_TRY(guest.vm_.set_user_memory_region(0, 0, guest.memory_));
  // A PIT needs the in-kernel irqchip; the guest keeps IF=0, so neither
  // interrupts it.
  MIGCLOCK_TRY(guest.vm_.create_irqchip());
  MIGCLOCK_TRY(guest.vm_.create_pit2());
  MIGCLOCK_TRY(guest.reset_pit());
  if (before_vcpus) MIGCLOCK_TRY(before_vcpus(guest.vm_));
  guest.vcpus_.reserve(vcpus);
  for (uint32_t id = 0; id < vcpus; ++id) MIGCLOCK_TRY(guest.add_vcpu(id, entry));
  return guest;
}

Status ClockGuest::add_vcpu(uint32_t id, Entry entry) {
  auto vcpu = vm_.create_vcpu(id);
  if (!vcpu) return vcpu.error();
  auto sregs = vcpu->get_sregs();
  if (!sregs) return sregs.error();
  for (kvm_segment* seg : {&sregs->cs, &sregs->ds, &sregs->es, &sregs->ss, &sregs->fs, &sregs->gs}) {
    seg->base = 0;
    seg->selector = 0;
  }
  MIGCLOCK_TRY(vcpu->set_sregs(*sregs));
  kvm_regs regs{};
  regs.rip = kCodeGpa + (entry == Entry::resume ? kLoopOffset : 0);
  regs.rflags = 0x2;  // IF=0
  regs.rsi = pvclock_gpa(id);
  regs.rdi = kSampleGpa + 16ull * id;
  regs.rsp = 0x8000;
  MIGCLOCK_TRY(vcpu->set_regs(regs));
  // With an in-kernel LAPIC, APs wait for INIT/SIPI; this guest has no BSP
  // code to send them, so make every vCPU runnable directly.
  if (id != 0) MIGCLOCK_TRY(vcpu->set_mp_state(KVM_MP_STATE_RUNNABLE));
  vcpus_.push_back(std::move(*vcpu));
  return {};
}

Status ClockGuest::reset_pit() const {
  // KVM leaves an unprogrammed PIT at mode 0xff; a VMM puts it in the
  // 8254's reset state as firmware expects it (QEMU: mode 3, gate high on
  // channels 0 and 1, count 0x10000).
  auto pit = vm_.get_pit2();
  if (!pit) return pit.error();
  for (int i = 0; i < 3; ++i) {
    pit->channels[i].mode = 3;
    pit->channels[i].gate = i != 2;
    pit->channels[i].count = 0x10000;
    pit->channels[i].rw_mode = 3;  // lobyte/hibyte
  }
  return vm_.set_pit2(*pit);
}

uint64_t ClockGuest::pvclock_gpa(uint32_t vcpu) const { return kPvclockGpa + 32ull * vcpu; }

Result<GuestSample> ClockGuest::sample(uint32_t vcpu) const {
  if (vcpu >= vcpus_.size()) return make_error(errc::invalid_argument, "no vcpu " + std::to_string(vcpu));
  const Vcpu& v = vcpus_[vcpu];
  const auto* base = static_cast<const uint8_t*>(memory_.data());
  // A pvclock update between the guest's version copy and its rdtsc shows
  // as a version change; such samples are dropped and the guest runs again.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto reason = v.run();
    if (!reason) return Error{reason.error().code, "vcpu " + std::to_string(vcpu) + ": " + reason.error().context};
    const kvm_run* run = v.run_state();
    if (*reason != KVM_EXIT_IO || run->io.port != kSamplePort) {
      if (*reason == KVM_EXIT_INTR) continue;
      return make_error(errc::io_error, "vcpu " + std::to_string(vcpu) + ": guest stopped with " + exit_name(*reason));
    }
    RawSample raw;
    std::memcpy(&raw, base + kSampleGpa + 16ull * vcpu, sizeof raw);
    GuestSample s;
    std::memcpy(&s.pvclock, base + pvclock_gpa(vcpu), sizeof s.pvclock);
    if (raw.version == 0 || raw.version != s.pvclock.version || (raw.version & 1)) continue;
    s.guest_tsc = (static_cast<uint64_t>(raw.tsc_hi) << 32) | raw.tsc_lo;
    s.kvmclock_ns = pvclock_read_ns(s.pvclock, s.guest_tsc);
    return s;
  }
  return make_error(errc::timeout, "vcpu " + std::to_string(vcpu) + ": no stable pvclock sample in 1000 runs");
}

}  // namespace migclock::kvm
