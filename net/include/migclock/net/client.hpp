// A small synchronous HTTP(S) client with a deadline on every request.
// Keeps one keep-alive connection and reconnects (once, transparently) when
// a reused connection turns out closed; fails over across several servers.
// Not thread-safe: one per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/net/request.hpp"

namespace migclock::net {

struct ClientOptions {
  ClientOptions() = default;
  ClientOptions(std::string server_, std::string ca_file_ = {}, std::string bearer_token_ = {})  // NOLINT
      : server(std::move(server_)), ca_file(std::move(ca_file_)), bearer_token(std::move(bearer_token_)) {}

  // "https://host:port", "http://host:port" or "unix:/path/to.sock"; or
  // several, comma-separated ("https://a:8443, https://b:8443"): a request
  // that fails in transport (refused, timed out, reset) is sent to the next
  // one; a server that failed is tried again only after a backoff (1 s,
  // doubling to 30 s) unless all others failed too. HTTP answers (any
  // status) are final. The API is idempotent, so a resent request is safe.
  std::string server;
  std::string ca_file;           // PEM bundle to trust; empty: system store
  std::string cert_file, key_file;  // client certificate and key (PEM), for servers that ask (mutual TLS)
  std::string bearer_token;      // sent as Authorization: Bearer ...
  std::chrono::milliseconds timeout{10'000};  // connect + request + response
  std::size_t max_response_bytes = 32u << 20;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // Errors: timeout, unavailable (connect/TLS/IO), invalid_argument (bad
  // server URL). Any HTTP status is a successful Response.
  Result<Response> request(const std::string& method, const std::string& target, const std::string& body = {},
                           const std::string& content_type = "application/json",
                           const std::vector<std::pair<std::string, std::string>>& headers = {});
  Result<Response> get(const std::string& target) { return request("GET", target); }
  Result<Response> post(const std::string& target, const std::string& body) { return request("POST", target, body); }
  Result<Response> put(const std::string& target, const std::string& body) { return request("PUT", target, body); }

  // Per-call override (long polls wait longer than the default).
  void set_timeout(std::chrono::milliseconds t);
  const ClientOptions& options() const;
  void close();
  // The server the last request went to (one of a list).
  std::string current_server() const;

 private:
  struct Impl;
  struct Failover;
  Result<Response> request_one(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& content_type,
                               const std::vector<std::pair<std::string, std::string>>& headers);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Failover> failover_;  // null: one server
};

}  // namespace migclock::net
