// Shared by the real-/dev/kvm tests: open the system or skip with the reason.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "migclock/kvm/system.hpp"

namespace migclock::kvm::testing {

// A shell command's stdout and exit status (-1: it did not exit normally).
struct CommandRun {
  int status = -1;
  std::string out;
};
inline CommandRun run_command(const std::string& cmd) {
  CommandRun r;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe.get())) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe.release());
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

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
  [[maybe_unused]] ::migclock::kvm::System& sys_var = *sys_var##_opt  // NOLINT(bugprone-macro-parentheses): names the variable it declares

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
