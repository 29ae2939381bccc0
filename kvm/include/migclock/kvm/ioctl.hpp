// The one place a KVM ioctl's -1/errno becomes an Error that names the ioctl
// ("KVM_SET_CLOCK: Invalid argument"). Every wrapper goes through it.
#pragma once

#include <sys/ioctl.h>

#include "migclock/common/result.hpp"

namespace migclock::kvm {

// Retries EINTR (KVM_RUN returns it on signals); any other failure becomes
// errno_error(errno, name). Returns the ioctl's non-negative result.
Result<int> checked_ioctl(int fd, unsigned long request, unsigned long arg, const char* name);

inline Result<int> checked_ioctl(int fd, unsigned long request, const void* arg, const char* name) {
  return checked_ioctl(fd, request, reinterpret_cast<unsigned long>(arg), name);
}

// An ioctl whose only result is success or failure.
inline Status as_status(const Result<int>& r) {
  if (!r) return r.error();
  return {};
}

// An ioctl that fills a struct T (KVM_GET_CLOCK, KVM_GET_REGS, ...).
template <class T>
Result<T> ioctl_read(int fd, unsigned long request, const char* name) {
  T value{};
  MIGCLOCK_TRY(checked_ioctl(fd, request, &value, name));
  return value;
}

}  // namespace migclock::kvm

// MIGCLOCK_IOCTL(fd, KVM_GET_CLOCK, &data): the request's own name is the
// error context, so no call site can mislabel it.
#define MIGCLOCK_IOCTL(fd, request, arg) ::migclock::kvm::checked_ioctl((fd), (request), (arg), #request)
#define MIGCLOCK_IOCTL_STATUS(fd, request, arg) \
  ::migclock::kvm::as_status(::migclock::kvm::checked_ioctl((fd), (request), (arg), #request))
#define MIGCLOCK_IOCTL_READ(T, fd, request) ::migclock::kvm::ioctl_read<T>((fd), (request), #request)
