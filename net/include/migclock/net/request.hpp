// Transport-free HTTP request/response values: what a Beast session parses
// into and what handlers answer. No Boost types leak through here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace migclock::net {

enum class Transport { tls, plain_tcp, unix_socket };

struct PeerInfo {
  Transport transport = Transport::plain_tcp;
  std::string address;  // "127.0.0.1:53412" or the socket path
  // SO_PEERCRED of a unix-socket peer, read before the first byte.
  std::optional<uint32_t> uid, gid;
  std::optional<int32_t> pid;
};

struct Request {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as sent: "/api/v1/migrations?vm=x"
  std::string path;     // percent-decoded path without the query
  std::map<std::string, std::string> query;  // percent-decoded; last value wins
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  PeerInfo peer;

  // Value of the first header with this (case-insensitive) name, or "".
  std::string header(std::string_view name) const;
  // The query parameter or `fallback`.
  std::string query_or(const std::string& key, std::string fallback = {}) const;
  // "Bearer <token>" → token; "" when absent or another scheme.
  std::string bearer_token() const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response json(unsigned status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static Response no_content() {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
  }
  static Response text(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8") {
    Response r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    return r;
  }
};

// Splits "/a/b?x=1&y=%20" into path and decoded query. False on a bad
// percent escape.
bool split_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query);
std::string percent_decode(std::string_view in, bool* ok = nullptr);
std::string percent_encode(std::string_view in);  // for path segments / query values

}  // namespace migclock::net
