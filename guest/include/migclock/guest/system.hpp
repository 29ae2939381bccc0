// Linux's side of SystemOps: the real clock, sysfs and /proc, chronyc.
#pragma once

#include "migclock/guest/companion.hpp"

namespace migclock::guest {

class LinuxSystem final : public SystemOps {
 public:
  void realtime(int64_t& sec, int64_t& nsec) override;
  int step(int64_t ns) override;
  std::string clocksource() override;
  bool process_running(const char* comm) override;
  std::string nudge_after_step() override;
  // The nudge itself, synchronously (what nudge_after_step's child runs).
  std::string nudge_now(bool chronyd, bool ntpd);
};

}  // namespace migclock::guest
