#include "session.hpp"

#include <cctype>

namespace migclock::net::detail {

bool only_chunked(beast::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return beast::iequals(v, "chunked");
}

bool to_request(const http::request<http::string_body>& in, Request& out) {
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  for (const auto& f : in) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  out.body = in.body();
  return split_target(out.target, out.path, out.query);
}

http::response<http::string_body> to_beast(const Response& r, unsigned version, bool keep_alive,
                                           const std::string& server_header) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, server_header);
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

std::optional<Problem> problem_for_read_error(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return problem(ApiErrc::headers_too_large, "request header fields too large");
  if (ec == http::error::body_limit) return problem(ApiErrc::payload_too_large, "request body too large");
  if (ec == beast::error::timeout) return problem(ApiErrc::request_timeout, "request not received in time");
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::operation_aborted || ec == asio::ssl::error::stream_truncated)
    return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category())
    return problem(ApiErrc::bad_request, "malformed HTTP request: " + ec.message());
  return std::nullopt;
}

}  // namespace migclock::net::detail
