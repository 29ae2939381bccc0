#include "migclock/timeprobe/channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "migclock/common/time_source.hpp"

extern "C" {
#include "protocol.h"
}

namespace migclock::timeprobe {

int64_t realtime_ns() { return SystemTimeSource::instance().realtime_ns(); }

namespace {
// Whole ms, for poll(); deadlines are kept in ns: in truncated ms a wait
// of 100 ms could end after 99.1 (seen once in the suite).
int64_t monotonic_ms() { return steady_now_ns() / 1'000'000; }
}  // namespace

Result<ProbeChannel> ProbeChannel::connect(const std::string& path, std::chrono::milliseconds wait) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error(errc::invalid_argument, path + ": longer than sun_path");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int64_t deadline = steady_now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
  for (;;) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_error(errno, "socket");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return ProbeChannel(fd);
    const int e = errno;
    ::close(fd);
    if ((e != ENOENT && e != ECONNREFUSED) || steady_now_ns() >= deadline) return errno_error(e, "connect " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ProbeChannel::ProbeChannel(ProbeChannel&& o) noexcept : fd_(o.fd_), seq_(o.seq_), last_reply_ns_(o.last_reply_ns_) {
  o.fd_ = -1;
}
ProbeChannel& ProbeChannel::operator=(ProbeChannel&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    seq_ = o.seq_;
    last_reply_ns_ = o.last_reply_ns_;
    o.fd_ = -1;
  }
  return *this;
}
ProbeChannel::~ProbeChannel() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Exchange> ProbeChannel::exchange(std::chrono::milliseconds timeout) {
  migclock_timeprobe_request req{};
  req.magic = MIGCLOCK_TIMEPROBE_MAGIC;
  req.seq = ++seq_;
  const int64_t deadline = monotonic_ms() + timeout.count();
  Exchange x;
  x.t1_ns = realtime_ns();
  // write/read rather than send/recv: the stream may be a pty (tests). A
  // peer that closed raises SIGPIPE here: the executables ignore it (main).
  if (::write(fd_, &req, sizeof req) != static_cast<ssize_t>(sizeof req))
    return errno_error(errno, "send to the time probe");
  migclock_timeprobe_reply rep{};
  std::size_t have = 0;
  for (;;) {
    const int64_t left = deadline - monotonic_ms();
    if (left <= 0) return make_error(errc::timeout, "time probe: no reply to request " + std::to_string(req.seq));
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "poll the time probe");
    if (n == 0) continue;
    const ssize_t r = ::read(fd_, reinterpret_cast<char*>(&rep) + have, sizeof rep - have);
    if (r == 0) return make_error(errc::io_error, "time probe: QEMU closed the socket");
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_error(errno, "recv from the time probe");
    }
    have += static_cast<std::size_t>(r);
    if (have < sizeof rep) continue;
    const int64_t t4 = realtime_ns();
    last_reply_ns_ = t4;
    have = 0;
    if (rep.magic != MIGCLOCK_TIMEPROBE_MAGIC) return make_error(errc::io_error, "time probe: bad magic in reply");
    if (rep.seq != req.seq) continue;  // the late reply of an earlier, timed-out request
    x.t4_ns = t4;
    x.guest_ns = rep.sec * 1'000'000'000 + rep.nsec;
    return x;
  }
}

std::vector<Exchange> ProbeChannel::burst(int count, std::chrono::milliseconds timeout, int* lost) {
  std::vector<Exchange> out;
  for (int i = 0; i < count; ++i) {
    auto x = exchange(timeout);
    if (x) {
      out.push_back(*x);
    } else {
      if (lost) ++*lost;
      if (x.error().code != make_error_code(errc::timeout)) break;
    }
  }
  return out;
}

}  // namespace migclock::timeprobe
