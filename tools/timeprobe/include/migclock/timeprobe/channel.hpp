// The host end of the time-probe channel: QEMU's unix socket of the guest's
// org.migclock.timeprobe.0 virtio-serial port (libvirt <channel type='unix'>),
// speaking tools/guest/timeprobe/protocol.h. Independent of the guest agent
// and of libvirt: it is the judge of what migclock and its peers did.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/timeprobe/estimate.hpp"

namespace migclock::timeprobe {

class ProbeChannel {
 public:
  // Connects, retrying until `wait` while the socket is absent or refuses
  // (a migration's destination QEMU creates it when it starts).
  static Result<ProbeChannel> connect(const std::string& socket_path, std::chrono::milliseconds wait);

  // Takes over an open, connected byte stream (a socket or a raw-mode pty:
  // the tests drive the real guest program through a pty).
  static ProbeChannel adopt(int fd) { return ProbeChannel(fd); }

  ProbeChannel(ProbeChannel&& o) noexcept;
  ProbeChannel& operator=(ProbeChannel&& o) noexcept;
  ProbeChannel(const ProbeChannel&) = delete;
  ProbeChannel& operator=(const ProbeChannel&) = delete;
  ~ProbeChannel();

  // One request/reply. errc::timeout when no reply with this request's
  // sequence number came within `timeout` (a late reply is discarded by the
  // next exchange); errc::io_error when the socket failed.
  Result<Exchange> exchange(std::chrono::milliseconds timeout);

  // `count` exchanges back to back; failures (timeouts) are skipped and
  // counted in `lost`. io_error ends the burst early.
  std::vector<Exchange> burst(int count, std::chrono::milliseconds timeout, int* lost = nullptr);

  // Host time when the latest reply of any request arrived (0: none yet).
  // A paused guest answers nothing; the first reply after a silence marks
  // when it ran again, seen from inside the guest.
  int64_t last_reply_ns() const { return last_reply_ns_; }

 private:
  explicit ProbeChannel(int fd) : fd_(fd) {}
  int fd_ = -1;
  uint64_t seq_ = 0;
  int64_t last_reply_ns_ = 0;
};

// Host CLOCK_REALTIME in ns (the host side of every exchange).
int64_t realtime_ns();

}  // namespace migclock::timeprobe
