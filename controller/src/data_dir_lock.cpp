// One controller per data directory: a second one on the same journal
// would overwrite the first one's acknowledged changes with its own view.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "migclock/controller/app.hpp"

namespace migclock::controller {

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // the kernel drops the flock with the last fd
}

Status DataDirLock::acquire(const std::string& data_dir) {
  ::mkdir(data_dir.c_str(), 0700);  // as the journal does; an error shows at open()
  path_ = data_dir + "/controller.lock";
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno_error(errno, "open " + path_);
  // flock, not fcntl locks: those are per process, and tests run two
  // controllers in one process. A lock dies with its holder (kill -9 too).
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (e == EWOULDBLOCK)
      return make_error(errc::conflict, "data directory " + data_dir + " is in use by another migclock-controller (pid " +
                                            (pid.empty() ? "unknown" : pid) + ", holding " + path_ +
                                            "); one controller per data directory");
    return errno_error(e, "lock " + path_);
  }
  const std::string mine = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, mine.data(), mine.size(), 0) != static_cast<ssize_t>(mine.size())) {
    const int e = errno;
    ::close(fd);
    return errno_error(e, "write " + path_);
  }
  fd_ = fd;
  return {};
}

}  // namespace migclock::controller
