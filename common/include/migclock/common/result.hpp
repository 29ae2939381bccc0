// Result<T>: the one error style of kvm/ and the agent core.
//
// A Result holds either a value or an Error. An Error carries a
// std::error_code (errno values use std::generic_category(), project
// failures use migclock::errc) and a context string that names what failed
// ("KVM_SET_CLOCK", "vcpu 3: KVM_GET_MSRS", "snapshot.vcpus[2].tsc_khz").
// Exceptions are only thrown at the edges (config parsing, main).
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace migclock {

enum class errc {
  invalid_argument = 1,    // caller passed something inconsistent
  vcpu_count_mismatch,     // snapshot and destination disagree on vCPUs
  tsc_frequency_mismatch,  // beyond ±250 ppm and no TSC scaling
  realtime_in_future,      // snapshot realtime ahead of the destination
  would_step_backwards,    // a clock would be set to an earlier value
  not_supported,           // the host lacks a capability
  malformed_input,         // bytes or JSON that do not parse
  version_mismatch,        // a format version this build cannot read
  checksum_mismatch,
  too_large,
  truncated,
  validation_failed,
  io_error,
  timeout,
  not_found,
  conflict,
  unavailable,
  forbidden,      // the caller may not do this (another host's record, ...)
  unauthorized,   // the caller is not known (a token revoked meanwhile)
};

const std::error_category& migclock_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), migclock_category()};
}

struct Error {
  Error() = default;
  Error(std::error_code c, std::string ctx, std::string f = {})
      : code(c), context(std::move(ctx)), field(std::move(f)) {}

  std::error_code code;
  std::string context;
  // The input at fault ("destination", "snapshot.vcpus[2]"), if one is: the
  // controller's API names it in its answer.
  std::string field;

  // "KVM_SET_CLOCK: Invalid argument"
  std::string message() const;
};

inline Error make_error(errc e, std::string context, std::string field = {}) {
  return Error{make_error_code(e), std::move(context), std::move(field)};
}
inline Error errno_error(int err, std::string context) {
  return Error{std::error_code(err, std::generic_category()), std::move(context)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

  template <class U>
  T value_or(U&& fallback) const& { return ok() ? value() : static_cast<T>(std::forward<U>(fallback)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace migclock

namespace std {
template <>
struct is_error_code_enum<migclock::errc> : true_type {};
}  // namespace std

// Propagate an error from an expression returning Result<...>.
#define MIGCLOCK_TRY(expr)                       \
  do {                                           \
    auto&& migclock_try_r_ = (expr);             \
    if (!migclock_try_r_.ok()) return migclock_try_r_.error(); \
  } while (0)
