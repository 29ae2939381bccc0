// The agent's end of the guest companion's port (guest/, protocol in
// migclock/guest/protocol.hpp): a client of the unix socket QEMU binds for
// the domain's org.migclock.clock.0 channel.
//
// QEMU accepts one client per chardev socket; the agent connects for a sync
// and closes after, so nothing else is kept from the port in between.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/guest/protocol.hpp"

namespace migclock::agent_sync {

struct CompanionTimeSample {
  int64_t t1_ns = 0;     // host CLOCK_REALTIME before the request was written
  int64_t guest_ns = 0;  // the guest's CLOCK_REALTIME in the reply
  int64_t t4_ns = 0;     // host CLOCK_REALTIME after the reply was read
};

class CompanionChannel {
 public:
  // errc::unavailable when the socket is absent or refuses (no QEMU, or
  // another client holds it).
  static Result<CompanionChannel> connect_unix(const std::string& path);
  // Takes ownership of a connected stream fd (tests: a pty's master).
  static CompanionChannel adopt(int fd);
  CompanionChannel(CompanionChannel&& o) noexcept;
  CompanionChannel& operator=(CompanionChannel&& o) noexcept;
  CompanionChannel(const CompanionChannel&) = delete;
  CompanionChannel& operator=(const CompanionChannel&) = delete;
  ~CompanionChannel();

  // One request line, the reply with the same id; replies with another id
  // (late answers to requests that timed out) and lines that do not parse
  // are skipped. errc::timeout when none comes within `timeout`.
  Result<guest::Reply> exchange(const std::string& line, uint64_t id, std::chrono::milliseconds timeout);
  Result<CompanionTimeSample> time(const TimeSource& ts, std::chrono::milliseconds timeout);
  Result<guest::Reply> info(std::chrono::milliseconds timeout);
  // The guest's answer to a relative step (ok, or refused with why).
  Result<guest::Reply> step(int64_t ns, bool big, std::chrono::milliseconds timeout);
  uint64_t skipped_lines() const { return skipped_; }

 private:
  explicit CompanionChannel(int fd) : fd_(fd) {}
  Result<guest::Reply> read_reply(uint64_t id, int64_t deadline_mono_ns, const TimeSource* time, int64_t* t4);
  int fd_ = -1;
  uint64_t next_id_ = 1;
  uint64_t skipped_ = 0;
  std::string buf_;
};

}  // namespace migclock::agent_sync
