// System: the owner of /dev/kvm. Creates VMs and answers system-wide
// questions (API version, capabilities, supported MSRs).
#pragma once

#include <string>

#include "migclock/kvm/capability.hpp"
#include "migclock/kvm/fd.hpp"
#include "migclock/kvm/vm.hpp"

namespace migclock::kvm {

class System {
 public:
  static constexpr const char* kDefaultPath = "/dev/kvm";
  static Result<System> open(const std::string& path = kDefaultPath);

  Result<int> api_version() const;
  // KVM_CHECK_EXTENSION: 0 when absent; some capabilities return a value
  // (KVM_CAP_ADJUST_CLOCK: the supported flag mask).
  Result<int> check_extension(Capability cap) const;
  Result<int> vcpu_mmap_size() const;
  Result<Vm> create_vm() const;

  int fd() const noexcept { return fd_.get(); }

 private:
  explicit System(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace migclock::kvm
