// Snapshot files: bounded reads and atomic, durable writes.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/validate.hpp"

namespace migclock::serialization {
namespace {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Close explicitly when the result matters (after writes).
  int close_checked() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Status write_all(int fd, const std::string& bytes, const std::string& what) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, what + ": write");
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Error not_regular(const std::string& path, mode_t mode) {
  const char* kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO"
                     : S_ISSOCK(mode) ? "a socket"
                     : S_ISCHR(mode)  ? "a character device"
                     : S_ISBLK(mode)  ? "a block device"
                                      : "of an unknown type";
  return make_error(errc::invalid_argument, path + ": not a regular file (it is " + kind + ")");
}

}  // namespace

Result<std::string> read_snapshot_bytes(const std::string& path) {
  // A FIFO (or a device) named x.json must be refused, not waited on:
  // open() of a FIFO blocks until a writer appears. Refuse non-regular
  // files before opening them, then open non-blocking and check the opened
  // file again, in case the path was swapped in between.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, path);
  if (!S_ISREG(st.st_mode)) return not_regular(path, st.st_mode);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return errno_error(errno, path);
  if (::fstat(fd.get(), &st) != 0) return errno_error(errno, path + ": fstat");
  if (!S_ISREG(st.st_mode)) return not_regular(path, st.st_mode);
  // Plain blocking reads from here on (O_NONBLOCK was only for the open).
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return errno_error(errno, path + ": fcntl");
  if (static_cast<uint64_t>(st.st_size) > kMaxEncodedBytes)
    return make_error(errc::too_large, path + ": " + std::to_string(st.st_size) + " bytes exceed the limit of " +
                                           std::to_string(kMaxEncodedBytes));
  std::string bytes;
  bytes.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  // Read up to one byte past the cap so a file growing underneath is caught.
  for (;;) {
    if (done == bytes.size()) {
      if (bytes.size() > kMaxEncodedBytes)
        return make_error(errc::too_large, path + ": grew beyond the limit of " + std::to_string(kMaxEncodedBytes));
      bytes.resize(std::min<std::size_t>(bytes.size() + 4096, kMaxEncodedBytes + 1));
    }
    ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, path + ": read");
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

Result<snapshot::Snapshot> load_file(const std::string& path) {
  auto format = format_for_path(path);
  if (!format) return format.error();
  auto bytes = read_snapshot_bytes(path);
  if (!bytes) return bytes.error();
  auto snap = decode(*bytes, *format);
  if (!snap) return Error{snap.error().code, path + ": " + snap.error().context};
  if (auto valid = validate_status(*snap); !valid)
    return Error{valid.error().code, path + ": " + valid.error().context};
  return snap;
}

Status save_file(const std::string& path, const snapshot::Snapshot& s) {
  auto format = format_for_path(path);
  if (!format) return format.error();
  auto bytes = encode(s, *format);
  if (!bytes) return bytes.error();

  const std::string dir = parent_dir(path);
  std::string tmp = dir + "/." + base_name(path) + ".tmp.XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, tmp + ": create");
  auto fail = [&](Error e) {
    fd.reset();
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd.get(), 0644) != 0) return fail(errno_error(errno, tmp + ": fchmod"));
  if (auto w = write_all(fd.get(), *bytes, tmp); !w) return fail(w.error());
  if (::fsync(fd.get()) != 0) return fail(errno_error(errno, tmp + ": fsync"));
  if (fd.close_checked() != 0) return fail(errno_error(errno, tmp + ": close"));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno_error(errno, path + ": rename"));
  // The rename is durable only once the directory entry is on disk.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) return errno_error(errno, dir + ": fsync");
  return {};
}

}  // namespace migclock::serialization
