#include "migclock/net/problem.hpp"

#include "migclock/common/text_guard.hpp"
#include "migclock/net/json.hpp"

namespace migclock::net {

namespace {
struct Row {
  unsigned status;
  const char* name;
};
// Indexed by ApiErrc: the single error → status table.
constexpr Row kTable[] = {
    {400, "bad_request"},   {400, "invalid_json"},      {401, "unauthorized"},
    {403, "forbidden"},     {404, "not_found"},         {405, "method_not_allowed"},
    {406, "not_acceptable"}, {408, "request_timeout"},  {409, "conflict"},
    {413, "payload_too_large"}, {415, "unsupported_media_type"}, {431, "headers_too_large"},
    {500, "internal"},      {503, "unavailable"},       {504, "timeout"},
    {501, "not_implemented"},
};
static_assert(sizeof(kTable) / sizeof(kTable[0]) == static_cast<size_t>(ApiErrc::not_implemented) + 1);
}  // namespace

unsigned status_of(ApiErrc e) { return kTable[static_cast<size_t>(e)].status; }
const char* code_name(ApiErrc e) { return kTable[static_cast<size_t>(e)].name; }

Problem problem_from(const Error& e) {
  ApiErrc code = ApiErrc::internal;
  if (e.code.category() == migclock_category()) {
    switch (static_cast<errc>(e.code.value())) {
      case errc::invalid_argument:
      case errc::malformed_input:
      case errc::validation_failed:
      case errc::version_mismatch:
      case errc::checksum_mismatch:
      case errc::truncated:
      case errc::vcpu_count_mismatch:
      case errc::tsc_frequency_mismatch:
      case errc::realtime_in_future:
      case errc::would_step_backwards:
        code = ApiErrc::bad_request;
        break;
      case errc::not_found: code = ApiErrc::not_found; break;
      case errc::conflict: code = ApiErrc::conflict; break;
      case errc::too_large: code = ApiErrc::payload_too_large; break;
      case errc::timeout: code = ApiErrc::timeout; break;
      case errc::unavailable:
      case errc::not_supported: code = ApiErrc::unavailable; break;
      case errc::io_error: code = ApiErrc::internal; break;
      case errc::forbidden: code = ApiErrc::forbidden; break;
      case errc::unauthorized: code = ApiErrc::unauthorized; break;
    }
  }
  return Problem{code, e.message(), e.field};
}

errc errc_from_status(unsigned status) {
  switch (status) {
    case 401: return errc::unauthorized;
    case 403: return errc::forbidden;
    case 404: return errc::not_found;
    case 409: return errc::conflict;
    case 413: return errc::too_large;
    default: return status >= 500 ? errc::unavailable : errc::invalid_argument;
  }
}

Response to_response(const Problem& p) {
  JsonWriter w;
  // Messages quote what the peer sent (a path, a query value): whatever it
  // was, the answer stays valid UTF-8 JSON.
  w.begin_object().key("error").value(code_name(p.code)).key("message").value(valid_utf8(p.message));
  if (!p.field.empty()) w.key("field").value(valid_utf8(p.field));
  w.end_object();
  Response r = Response::json(status_of(p.code), w.str());
  if (p.code == ApiErrc::unauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace migclock::net
