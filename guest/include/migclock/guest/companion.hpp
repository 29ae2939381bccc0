// The guest companion's logic, apart from the port and the system calls so
// the tests drive it byte by byte: LineAssembler frames the byte stream
// (bounded), Companion turns each line into at most one reply and at most
// one clock step. main.cpp wires it to the virtio-serial port and to the
// real clock (system.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "migclock/guest/protocol.hpp"

namespace migclock::guest {

// Collects bytes into lines of at most kMaxLine bytes. A longer line is
// dropped whole (up to and including its '\n') and counted once: a flood
// without newlines costs a fixed buffer, never memory.
class LineAssembler {
 public:
  // Calls `line` for each complete line (without '\n').
  void feed(const char* data, std::size_t n, const std::function<void(std::string_view)>& line);
  // The peer went away: a partial line is void (counted if non-empty).
  void reset();
  uint64_t overlong() const { return overlong_; }
  uint64_t partial_dropped() const { return partial_dropped_; }

 private:
  char buf_[kMaxLine];
  std::size_t have_ = 0;
  bool discarding_ = false;
  uint64_t overlong_ = 0;
  uint64_t partial_dropped_ = 0;
};

// What the companion needs from the system (system.hpp has Linux's).
class SystemOps {
 public:
  virtual ~SystemOps() = default;
  virtual void realtime(int64_t& sec, int64_t& nsec) = 0;   // CLOCK_REALTIME
  // Steps CLOCK_REALTIME by `ns`, atomically relative; 0 or an errno.
  virtual int step(int64_t ns) = 0;
  virtual std::string clocksource() = 0;
  virtual bool process_running(const char* comm) = 0;
  // After a step: tells a running chronyd to drop its pre-step samples and
  // take fresh ones. Must not hold up the companion: scanning /proc costs
  // tens of ms in a just-migrated TCG guest, and the agent's verification
  // queries are waiting. Returns what it started ("nudge-async", "none").
  virtual std::string nudge_after_step() = 0;
};

struct CompanionOptions {
  int64_t max_step_ns = 1'000'000'000;  // above this |step| only with "big"
  bool dry_run = false;                 // validate steps, never apply (tests on a shared host)
  bool nudge = true;
};

struct CompanionCounters {
  uint64_t lines = 0;
  uint64_t malformed = 0;       // lines that did not parse (never answered)
  uint64_t unknown = 0;         // well-formed, unknown verb (answered "e")
  uint64_t time_queries = 0;
  uint64_t steps_applied = 0;
  uint64_t steps_refused = 0;
};

class Companion {
 public:
  Companion(SystemOps& sys, CompanionOptions options) : sys_(sys), options_(options) {}
  // One line (without '\n'): the reply to write ("" for none).
  // The reply to a time query reads the clock last, so write it at once.
  std::string on_line(std::string_view line);
  // Work to do after the reply left (the nudge): slow, so never before it.
  void after_reply();
  const CompanionCounters& counters() const { return counters_; }
  // Feeds bytes through the assembler, collecting replies (for tests and
  // for a caller that writes them together).
  std::string feed(const char* data, std::size_t n);
  LineAssembler& assembler() { return assembler_; }
  std::string last_nudge() const { return last_nudge_; }

 private:
  std::string step(const Request& q);
  std::string info(uint64_t id);

  SystemOps& sys_;
  CompanionOptions options_;
  CompanionCounters counters_;
  LineAssembler assembler_;
  bool nudge_pending_ = false;
  std::string last_nudge_ = "none";
};

}  // namespace migclock::guest
