// TimeSource: injected time, so elapsed-time math is testable.
#pragma once

#include <atomic>
#include <cstdint>

namespace migclock {

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  // CLOCK_REALTIME in ns since the epoch: comparable across hosts only as
  // far as the hosts agree (the controller measures that offset).
  virtual int64_t realtime_ns() const = 0;
  // CLOCK_MONOTONIC_RAW in ns: never slewed by NTP, local to one boot.
  virtual int64_t monotonic_raw_ns() const = 0;
};

class SystemTimeSource final : public TimeSource {
 public:
  int64_t realtime_ns() const override;
  int64_t monotonic_raw_ns() const override;
  static const SystemTimeSource& instance();
};

// CLOCK_MONOTONIC now: for the deadlines of blocking calls (poll, connect
// retries), which must not jump with the wall clock. Elapsed-time math
// that tests control takes a TimeSource instead.
int64_t steady_now_ns();

// A clock that only moves when told to: for tests of elapsed-time math.
class ManualTimeSource final : public TimeSource {
 public:
  ManualTimeSource(int64_t realtime_ns, int64_t monotonic_raw_ns)
      : realtime_(realtime_ns), monotonic_(monotonic_raw_ns) {}
  int64_t realtime_ns() const override { return realtime_.load(); }
  int64_t monotonic_raw_ns() const override { return monotonic_.load(); }
  void advance_ns(int64_t ns) { realtime_ += ns; monotonic_ += ns; }
  void set_realtime_ns(int64_t ns) { realtime_ = ns; }

 private:
  std::atomic<int64_t> realtime_;
  std::atomic<int64_t> monotonic_;
};

}  // namespace migclock
