#include "migclock/kvm/vcpu.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdio>

#include "migclock/kvm/ioctl.hpp"

namespace migclock::kvm {
namespace {

// struct kvm_msrs (nmsrs, pad, entries[]) with room for a batch on the stack.
struct MsrBatch {
  uint32_t nmsrs;
  uint32_t pad;
  kvm_msr_entry entries[Vcpu::kMaxMsrBatch];
};
static_assert(offsetof(MsrBatch, entries) == 8, "uapi: entries follow nmsrs and pad");

// In C++ the uapi's __DECLARE_FLEX_ARRAY makes sizeof(struct kvm_msrs) 16
// instead of C's 8, and the size is encoded in the ioctl number, so
// <linux/kvm.h>'s KVM_GET_MSRS is a request the kernel does not know
// (EINVAL). These are the numbers as the kernel (built as C) defines them.
struct KvmMsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, KvmMsrsHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, KvmMsrsHeader);

Error short_msr_batch(const char* ioctl, const uint32_t* indices, int done, size_t count) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s: kernel handled %d of %zu MSRs, refused MSR 0x%x", ioctl, done, count,
                indices[done]);
  return make_error(errc::not_supported, buf);
}

kvm_device_attr tsc_offset_attr(uint64_t* value) {
  kvm_device_attr attr{};
  attr.group = KVM_VCPU_TSC_CTRL;
  attr.attr = KVM_VCPU_TSC_OFFSET;
  attr.addr = reinterpret_cast<uint64_t>(value);
  return attr;
}

}  // namespace

Result<uint32_t> Vcpu::run() const {
  MIGCLOCK_TRY(MIGCLOCK_IOCTL(fd_.get(), KVM_RUN, 0ul));
  return run_state()->exit_reason;
}

Result<kvm_regs> Vcpu::get_regs() const {
  return MIGCLOCK_IOCTL_READ(kvm_regs, fd_.get(), KVM_GET_REGS);
}

Status Vcpu::set_regs(const kvm_regs& regs) const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_REGS, &regs);
}

Result<kvm_sregs> Vcpu::get_sregs() const {
  return MIGCLOCK_IOCTL_READ(kvm_sregs, fd_.get(), KVM_GET_SREGS);
}

Status Vcpu::set_sregs(const kvm_sregs& sregs) const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_SREGS, &sregs);
}

Status Vcpu::set_mp_state(uint32_t state) const {
  kvm_mp_state mp{state};
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_MP_STATE, &mp);
}

Status Vcpu::get_msrs(const uint32_t* indices, uint64_t* values, size_t count) const {
  if (count > kMaxMsrBatch) return make_error(errc::invalid_argument, "KVM_GET_MSRS: batch too large");
  MsrBatch batch{};
  batch.nmsrs = static_cast<uint32_t>(count);
  for (size_t i = 0; i < count; ++i) batch.entries[i].index = indices[i];
  auto done = checked_ioctl(fd_.get(), kGetMsrs, &batch, "KVM_GET_MSRS");
  if (!done) return done.error();
  if (static_cast<size_t>(*done) != count) return short_msr_batch("KVM_GET_MSRS", indices, *done, count);
  for (size_t i = 0; i < count; ++i) values[i] = batch.entries[i].data;
  return {};
}

Status Vcpu::set_msrs(const uint32_t* indices, const uint64_t* values, size_t count) const {
  if (count > kMaxMsrBatch) return make_error(errc::invalid_argument, "KVM_SET_MSRS: batch too large");
  MsrBatch batch{};
  batch.nmsrs = static_cast<uint32_t>(count);
  for (size_t i = 0; i < count; ++i) {
    batch.entries[i].index = indices[i];
    batch.entries[i].data = values[i];
  }
  auto done = checked_ioctl(fd_.get(), kSetMsrs, &batch, "KVM_SET_MSRS");
  if (!done) return done.error();
  if (static_cast<size_t>(*done) != count) return short_msr_batch("KVM_SET_MSRS", indices, *done, count);
  return {};
}

Result<bool> Vcpu::has_tsc_offset_attr() const {
  kvm_device_attr attr = tsc_offset_attr(nullptr);
  int r = ::ioctl(fd_.get(), KVM_HAS_DEVICE_ATTR, &attr);
  if (r == 0) return true;
  if (errno == ENXIO || errno == ENOTTY || errno == EINVAL) return false;
  return errno_error(errno, "KVM_HAS_DEVICE_ATTR");
}

Result<uint64_t> Vcpu::get_tsc_offset() const {
  uint64_t value = 0;
  kvm_device_attr attr = tsc_offset_attr(&value);
  MIGCLOCK_TRY(MIGCLOCK_IOCTL(fd_.get(), KVM_GET_DEVICE_ATTR, &attr));
  return value;
}

Status Vcpu::set_tsc_offset(uint64_t offset) const {
  kvm_device_attr attr = tsc_offset_attr(&offset);
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_DEVICE_ATTR, &attr);
}

Result<uint32_t> Vcpu::get_tsc_khz() const {
  auto r = MIGCLOCK_IOCTL(fd_.get(), KVM_GET_TSC_KHZ, 0ul);
  if (!r) return r.error();
  return static_cast<uint32_t>(*r);
}

Status Vcpu::set_tsc_khz(uint32_t khz) const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_SET_TSC_KHZ, static_cast<unsigned long>(khz));
}

Status Vcpu::kvmclock_ctrl() const {
  return MIGCLOCK_IOCTL_STATUS(fd_.get(), KVM_KVMCLOCK_CTRL, 0ul);
}

}  // namespace migclock::kvm
