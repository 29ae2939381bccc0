// HTTP/1.1 server on Boost.Beast: async, one io thread per core, keep-alive.
//
// Listeners: TLS over TCP (the default), plain TCP (only on a loopback
// address, and only when asked for), plain HTTP over a unix socket (local
// APIs; SO_PEERCRED is in Request::peer). Every connection gets the same
// limits: header bytes (431), body bytes (413, per route if wanted), and a
// read timeout covering the TLS handshake and each whole request, so a
// slowloris peer is dropped (408) and an idle keep-alive one closed. The
// application may refuse a request from its head before the body is read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "migclock/common/result.hpp"
#include "migclock/net/request.hpp"
#include "migclock/net/responder.hpp"

namespace migclock::net {

struct ServerOptions {
  std::size_t threads = 2;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  // Optional per-request body limit decided from the head (e.g. snapshots
  // get 16 MiB); returns the limit in bytes.
  std::function<std::size_t(const std::string& method, const std::string& path)> body_limit_for;
  // The TLS handshake must finish within read_timeout; so must each request
  // (head + body, one deadline) from its first byte — a connection's first
  // request from the handshake. A request that started but did not finish
  // gets a 408 and the connection closes.
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive: until the next request's first byte
  // Optional: called with the head (body empty) of a request that has a
  // body, before the body is read. A Response returned is sent and the
  // connection closed unread, so e.g. an unauthenticated peer cannot make
  // the server take in megabytes only to be refused.
  std::function<std::optional<Response>(const Request& head)> refuse_before_body;
  std::chrono::milliseconds write_timeout{30'000};
  std::string server_header = "migclock";
  // Optional: told of a handler that threw ("POST /path", what()); the
  // client has been answered 500 internal. For the application's log.
  std::function<void(const std::string& request, const std::string& what)> on_handler_exception;
};

struct TlsFiles {
  std::string cert_chain_file;  // PEM
  std::string private_key_file;  // PEM
};

class Server {
 public:
  // The handler runs on an io thread: it must not block. Answer later
  // through the Responder from any thread.
  using Handler = std::function<void(Request&&, Responder)>;

  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Bind before start(). Each returns the bound TCP port (port 0 picks one).
  Result<uint16_t> listen_tls(const std::string& host, uint16_t port, const TlsFiles& tls);
  // Refused (invalid_argument) unless `host` is a loopback address.
  Result<uint16_t> listen_plain(const std::string& host, uint16_t port);
  // Replaces a stale socket file; chmods it to `mode`.
  Status listen_unix(const std::string& path, unsigned mode = 0660);

  Status start();  // spawns the io threads
  // Handlers that threw (each answered 500), since construction.
  uint64_t handler_exceptions() const;
  void stop();     // closes listeners and connections, joins threads

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migclock::net
