#include "migclock/kvm/system.hpp"

#include <fcntl.h>

#include "migclock/kvm/ioctl.hpp"

namespace migclock::kvm {

Result<System> System::open(const std::string& path) {
  auto fd = Fd::open(path, O_RDWR);
  if (!fd) return fd.error();
  System sys(std::move(*fd));
  auto version = sys.api_version();
  if (!version) return version.error();
  if (*version != KVM_API_VERSION)
    return make_error(errc::not_supported, "KVM_GET_API_VERSION " + std::to_string(*version) + " (need 12)");
  return sys;
}

Result<int> System::api_version() const { return MIGCLOCK_IOCTL(fd_.get(), KVM_GET_API_VERSION, 0ul); }

Result<int> System::check_extension(Capability cap) const {
  return MIGCLOCK_IOCTL(fd_.get(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
}

Result<int> System::vcpu_mmap_size() const { return MIGCLOCK_IOCTL(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0ul); }

Result<Vm> System::create_vm() const {
  auto fd = MIGCLOCK_IOCTL(fd_.get(), KVM_CREATE_VM, 0ul);
  if (!fd) return fd.error();
  auto mmap_size = vcpu_mmap_size();
  if (!mmap_size) return mmap_size.error();
  return Vm(Fd(*fd), static_cast<size_t>(*mmap_size));
}

}  // namespace migclock::kvm
