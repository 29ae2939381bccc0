#include "migclock/common/time_source.hpp"

#include <time.h>

namespace migclock {
namespace {
int64_t read_clock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}
}  // namespace

int64_t SystemTimeSource::realtime_ns() const { return read_clock(CLOCK_REALTIME); }
int64_t SystemTimeSource::monotonic_raw_ns() const { return read_clock(CLOCK_MONOTONIC_RAW); }
int64_t steady_now_ns() { return read_clock(CLOCK_MONOTONIC); }
const SystemTimeSource& SystemTimeSource::instance() {
  static const SystemTimeSource source;
  return source;
}

}  // namespace migclock
