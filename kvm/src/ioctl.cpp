#include "migclock/kvm/ioctl.hpp"

#include <cerrno>

namespace migclock::kvm {

Result<int> checked_ioctl(int fd, unsigned long request, unsigned long arg, const char* name) {
  for (;;) {
    int r = ::ioctl(fd, request, arg);
    if (r >= 0) return r;
    if (errno != EINTR) return errno_error(errno, name);
  }
}

}  // namespace migclock::kvm
