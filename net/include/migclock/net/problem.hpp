// The one place where failures become HTTP status codes.
//
// Handlers never pick status codes for errors: they return a Problem
// (an ApiErrc, a message for people, and the offending field if any) and
// to_response() turns it into `{"error", "message", "field"?}` with the
// status of status_of(). migclock::Error values map through problem_from().
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "migclock/common/result.hpp"
#include "migclock/net/request.hpp"

namespace migclock::net {

enum class ApiErrc {
  bad_request,             // 400 "bad_request"
  invalid_json,            // 400 "invalid_json" (field names the culprit)
  unauthorized,            // 401 "unauthorized"
  forbidden,               // 403 "forbidden"
  not_found,               // 404 "not_found"
  method_not_allowed,      // 405 "method_not_allowed"
  not_acceptable,          // 406 "not_acceptable"
  request_timeout,         // 408 "request_timeout"
  conflict,                // 409 "conflict"
  payload_too_large,       // 413 "payload_too_large"
  unsupported_media_type,  // 415 "unsupported_media_type"
  headers_too_large,       // 431 "headers_too_large"
  internal,                // 500 "internal"
  unavailable,             // 503 "unavailable"
  timeout,                 // 504 "timeout"
  not_implemented,         // 501 "not_implemented" (a transfer coding we do not decode)
};

unsigned status_of(ApiErrc);
const char* code_name(ApiErrc);

struct Problem {
  ApiErrc code = ApiErrc::internal;
  std::string message;
  std::string field;  // empty: not about one field
};

inline Problem problem(ApiErrc code, std::string message, std::string field = {}) {
  return Problem{code, std::move(message), std::move(field)};
}

// migclock::errc → ApiErrc (invalid_argument/malformed_input/validation_failed
// → 400, not_found → 404, conflict → 409, too_large → 413, forbidden → 403,
// ...); the Error's field is the Problem's.
Problem problem_from(const Error&);

// The other direction, for clients: an HTTP status a peer answered →
// migclock::errc (404 not_found, 409 conflict, 413 too_large, 5xx
// unavailable: worth a retry, 401/403 unauthorized/forbidden, any other
// status invalid_argument).
errc errc_from_status(unsigned status);

// `{"error": code_name, "message": ..., "field"?: ...}` with status_of().
Response to_response(const Problem&);

// A value or a Problem: what core functions return to the HTTP edge.
template <class T>
class Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Outcome(Problem p) : v_(std::move(p)) {}          // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Problem& problem() const { return std::get<1>(v_); }

 private:
  std::variant<T, Problem> v_;
};

}  // namespace migclock::net
