#include "migclock/agent_sync/companion_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "migclock/common/time_source.hpp"

namespace migclock::agent_sync {

Result<CompanionChannel> CompanionChannel::connect_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return make_error(errc::invalid_argument, "companion socket path too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(errc::io_error, std::string("socket: ") + std::strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    const int e = errno;
    close(fd);
    return make_error(errc::unavailable, "companion socket " + path + ": " + std::strerror(e));
  }
  return CompanionChannel(fd);
}

CompanionChannel CompanionChannel::adopt(int fd) { return CompanionChannel(fd); }

CompanionChannel::CompanionChannel(CompanionChannel&& o) noexcept
    : fd_(o.fd_), next_id_(o.next_id_), skipped_(o.skipped_), buf_(std::move(o.buf_)) {
  o.fd_ = -1;
}

CompanionChannel& CompanionChannel::operator=(CompanionChannel&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    next_id_ = o.next_id_;
    skipped_ = o.skipped_;
    buf_ = std::move(o.buf_);
    o.fd_ = -1;
  }
  return *this;
}

CompanionChannel::~CompanionChannel() {
  if (fd_ >= 0) close(fd_);
}

Result<guest::Reply> CompanionChannel::read_reply(uint64_t id, int64_t deadline_mono_ns, const TimeSource* time,
                                                  int64_t* t4) {
  for (;;) {
    std::size_t nl;
    while ((nl = buf_.find('\n')) != std::string::npos) {
      const std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      auto r = guest::parse_reply(line);
      if (r && r->id == id) return *r;
      ++skipped_;
    }
    if (buf_.size() > 4 * guest::kMaxLine) {  // no newline in sight: not our peer's framing
      buf_.clear();
      ++skipped_;
    }
    const int64_t left = deadline_mono_ns - steady_now_ns();
    if (left <= 0) return make_error(errc::timeout, "no reply from the guest companion");
    pollfd p{fd_, POLLIN, 0};
    const int pr = poll(&p, 1, static_cast<int>(left / 1'000'000) + 1);
    if (pr < 0) {
      if (errno == EINTR) continue;
      return make_error(errc::io_error, std::string("poll: ") + std::strerror(errno));
    }
    if (pr == 0) continue;
    char tmp[512];
    const ssize_t n = read(fd_, tmp, sizeof tmp);
    // Timestamped at once: the sample's t4 is when the reply was in hand.
    if (time && t4) *t4 = time->realtime_ns();
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return make_error(errc::io_error, std::string("read: ") + std::strerror(errno));
    }
    if (n == 0) return make_error(errc::unavailable, "the guest companion's socket closed");
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
}

Result<guest::Reply> CompanionChannel::exchange(const std::string& line, uint64_t id, std::chrono::milliseconds timeout) {
  const int64_t deadline = steady_now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = write(fd_, line.data() + off, line.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(errc::io_error, std::string("write: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return read_reply(id, deadline, nullptr, nullptr);
}

Result<CompanionTimeSample> CompanionChannel::time(const TimeSource& ts, std::chrono::milliseconds timeout) {
  const uint64_t id = next_id_++;
  const std::string line = guest::format_time_request(id);
  const int64_t deadline = steady_now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  CompanionTimeSample s;
  s.t1_ns = ts.realtime_ns();
  if (write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return make_error(errc::io_error, std::string("write: ") + std::strerror(errno));
  auto r = read_reply(id, deadline, &ts, &s.t4_ns);
  if (!r) return r.error();
  if (r->verb != 't') return make_error(errc::malformed_input, "the guest companion answered a time query with '" + std::string(1, r->verb) + "'");
  s.guest_ns = r->sec * 1'000'000'000 + r->nsec;
  return s;
}

Result<guest::Reply> CompanionChannel::info(std::chrono::milliseconds timeout) {
  const uint64_t id = next_id_++;
  auto r = exchange(guest::format_info_request(id), id, timeout);
  if (r && r->verb != 'i') return make_error(errc::malformed_input, "the guest companion did not answer info");
  return r;
}

Result<guest::Reply> CompanionChannel::step(int64_t ns, bool big, std::chrono::milliseconds timeout) {
  const uint64_t id = next_id_++;
  auto r = exchange(guest::format_step_request(id, ns, big), id, timeout);
  if (r && r->verb != 's') return make_error(errc::malformed_input, "the guest companion did not answer the step");
  return r;
}

}  // namespace migclock::agent_sync
