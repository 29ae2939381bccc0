// One connection: [TLS handshake] → read head → check limits → read body →
// handler → write → keep-alive or close. Templated on the stream so TLS,
// plain TCP and unix sockets share one implementation.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include "migclock/net/problem.hpp"
#include "migclock/net/server.hpp"

namespace migclock::net::detail {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;

using UnixStream = beast::basic_stream<asio::local::stream_protocol>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What every session of one server shares. Sinks of late Responders check
// `stopped` under the mutex so nothing is posted to a dying io_context.
struct Shared {
  ServerOptions options;
  Server::Handler handler;
  std::mutex mutex;
  bool stopped = false;
};

// Request head + body → transport-free Request (percent-decoding the target).
bool to_request(const http::request<http::string_body>& in, Request& out);
http::response<http::string_body> to_beast(const Response& r, unsigned version, bool keep_alive,
                                           const std::string& server_header);
// 431/413/400/408 for a read failure, or nullopt when the peer just went away.
std::optional<Problem> problem_for_read_error(const beast::error_code& ec);

template <class S> struct is_tls : std::false_type {};
template <> struct is_tls<TlsStream> : std::true_type {};

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream&& stream, std::shared_ptr<Shared> shared, PeerInfo peer)
      : stream_(std::move(stream)), shared_(std::move(shared)), peer_(std::move(peer)) {}

  void run() {
    if constexpr (is_tls<Stream>::value) {
      lowest().expires_after(shared_->options.read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->read_head(false);
                              });
    } else {
      read_head(false);
    }
  }

 private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void read_head(bool idle) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    // Beast checks Content-Length against the limit while finishing the
    // head; the real (per-route) limit is applied in on_head().
    parser_->body_limit((std::numeric_limits<std::uint64_t>::max)());
    // The first byte of a keep-alive request may come after idle_timeout;
    // once it has, the whole request must arrive within read_timeout. Beast
    // reads the head in one operation, so the idle budget covers it.
    lowest().expires_after(idle ? shared_->options.idle_timeout : shared_->options.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_head(ec);
                            });
  }

  void on_head(beast::error_code ec) {
    if (ec) return fail_read(ec);
    const auto& head = parser_->get();
    std::size_t limit = shared_->options.body_limit;
    if (shared_->options.body_limit_for) {
      std::string target(head.target());
      std::string path = target.substr(0, target.find('?'));
      limit = shared_->options.body_limit_for(std::string(head.method_string()), path);
    }
    if (auto len = parser_->content_length(); len && *len > limit) {
      return reply_and_close(problem(ApiErrc::payload_too_large,
                                     "body of " + std::to_string(*len) + " bytes exceeds " + std::to_string(limit)));
    }
    parser_->body_limit(limit);
    lowest().expires_after(shared_->options.read_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec2, std::size_t) {
      self->on_body(ec2);
    });
  }

  void on_body(beast::error_code ec) {
    if (ec) return fail_read(ec);
    lowest().expires_never();
    auto msg = parser_->release();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    Request req;
    req.peer = peer_;
    if (!to_request(msg, req)) {
      return respond(to_response(problem(ApiErrc::bad_request, "bad percent-encoding in the request target")));
    }
    auto self = this->shared_from_this();
    auto shared = shared_;
    Responder responder([self, shared](Response r) {
      std::lock_guard<std::mutex> lock(shared->mutex);
      if (shared->stopped) return;
      asio::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->respond(std::move(r)); });
    });
    shared_->handler(std::move(req), std::move(responder));
  }

  void fail_read(const beast::error_code& ec) {
    auto p = problem_for_read_error(ec);
    if (!p) return close();
    keep_alive_ = false;
    reply_and_close(*p);
  }

  void reply_and_close(const Problem& p) {
    keep_alive_ = false;
    // The peer may still be sending the body we refused: read and discard
    // it for a moment after answering (a lingering close), or the kernel
    // resets the connection and the client never sees the 413.
    drain_ = true;
    respond(to_response(p));
  }

  void drain() {
    if (!drain_buf_) drain_buf_ = std::make_unique<std::array<char, 16384>>();
    stream_.async_read_some(asio::buffer(*drain_buf_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void respond(Response r) {
    res_ = std::make_shared<http::response<http::string_body>>(
        to_beast(r, version_, keep_alive_, shared_->options.server_header));
    lowest().expires_after(shared_->options.write_timeout);
    http::async_write(stream_, *res_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->res_.reset();
      if (!ec && self->drain_) {
        self->drain_ = false;
        self->lowest().expires_after(std::chrono::seconds(1));
        return self->drain();
      }
      if (ec || !self->keep_alive_) return self->close();
      self->read_head(true);
    });
  }

  void close() {
    if constexpr (is_tls<Stream>::value) {
      lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->lowest().socket().close(ignored);
      });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(asio::socket_base::shutdown_send, ignored);
      lowest().socket().close(ignored);
    }
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  PeerInfo peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool drain_ = false;
  std::unique_ptr<std::array<char, 16384>> drain_buf_;
};

}  // namespace migclock::net::detail
