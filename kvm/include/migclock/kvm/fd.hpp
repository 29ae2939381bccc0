// Fd: the one owner of a kernel file descriptor. Move-only; closes on
// destruction; every fd it opens is O_CLOEXEC so a VMM's children (the
// testvmm spawns its restore process) never inherit /dev/kvm, VM or vCPU fds.
#pragma once

#include <string>

#include "migclock/common/result.hpp"

namespace migclock::kvm {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  // open(2) with O_CLOEXEC added.
  static Result<Fd> open(const std::string& path, int flags);

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// An owned mmap(2) region (the vCPU's struct kvm_run, guest memory).
class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  // Shared mapping of `fd` (the vCPU run area).
  static Result<Mapping> map_fd(int fd, size_t size, const char* what);
  // Anonymous, zeroed memory (guest RAM).
  static Result<Mapping> anonymous(size_t size);

  void* data() const noexcept { return addr_; }
  size_t size() const noexcept { return size_; }
  void reset() noexcept;

 private:
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace migclock::kvm
