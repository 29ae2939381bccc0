// Shared by the real-/dev/kvm tests: open the system or skip with the reason.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "migclock/kvm/system.hpp"

namespace migclock::kvm::testing {

// Opens /dev/kvm; on failure the test is skipped with the kernel's reason.
inline std::optional<System> open_kvm_or_skip_reason(std::string* reason) {
  auto sys = System::open();
  if (!sys) {
    *reason = "missing /dev/kvm: " + sys.error().message();
    return std::nullopt;
  }
  return std::move(*sys);
}

}  // namespace migclock::kvm::testing

#define MIGCLOCK_REQUIRE_KVM(sys_var)                                                    \
  std::string migclock_skip_reason_;                                                     \
  auto sys_var##_opt = ::migclock::kvm::testing::open_kvm_or_skip_reason(&migclock_skip_reason_); \
  if (!sys_var##_opt) GTEST_SKIP() << migclock_skip_reason_;                             \
  [[maybe_unused]] ::migclock::kvm::System& sys_var = *sys_var##_opt

#define MIGCLOCK_REQUIRE_CAP(sys, cap)                                                   \
  do {                                                                                   \
    auto migclock_cap_ = (sys).check_extension(cap);                                     \
    if (!migclock_cap_.ok() || *migclock_cap_ == 0)                                      \
      GTEST_SKIP() << "missing capability " << ::migclock::kvm::capability_name(cap);    \
  } while (0)

#define ASSERT_OK(expr)                                                                  \
  do {                                                                                   \
    auto&& migclock_r_ = (expr);                                                         \
    ASSERT_TRUE(migclock_r_.ok()) << #expr << ": " << migclock_r_.error().message();     \
  } while (0)
