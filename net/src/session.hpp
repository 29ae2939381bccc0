// One connection: [TLS handshake] → [idle wait for the first byte] → read
// head → check limits (and the application's refuse_before_body) → read
// body → handler → write → keep-alive or close. Templated on the stream so TLS,
// plain TCP and unix sockets share one implementation.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <chrono>
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
  std::atomic<uint64_t> handler_exceptions{0};
  std::mutex mutex;
  bool stopped = false;
};

// True when a Transfer-Encoding value is exactly "chunked" (any case, spaces around).
bool only_chunked(beast::string_view value);
// Request head + body → transport-free Request (percent-decoding the target).
bool to_request(const http::request<http::string_body>& in, Request& out);
http::response<http::string_body> to_beast(const Response& r, unsigned version, bool keep_alive,
                                           const std::string& server_header);
// 431/413/400 for a read failure, or nullopt when the peer just went away
// (timeouts are the session's own: see fail_read).
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
                                self->next_request(false);
                              });
    } else {
      next_request(false);
    }
  }

 private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  // Deadlines: a keep-alive connection may sit idle for idle_timeout; from
  // the first byte of a request (or, for a connection's first request, from
  // the handshake) head and body together get ONE read_timeout. Re-arming
  // per phase would let a peer stretch a request to twice the limit, and
  // covering the next head by the idle budget would make a slowloris of
  // every second request.
  void next_request(bool kept_alive) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    // Beast checks Content-Length against the limit while finishing the
    // head; the real (per-route) limit is applied in on_head().
    parser_->body_limit((std::numeric_limits<std::uint64_t>::max)());
    if (!kept_alive || buffer_.size() > 0) return read_head();  // pipelined bytes count as arrived
    lowest().expires_after(shared_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->close();  // idle expiry or peer gone: nothing to answer
                              self->buffer_.commit(n);
                              self->read_head();
                            });
  }

  void read_head() {
    arm_deadline();
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_head(ec);
                            });
  }

  // Our own timer rather than the stream's expiry: the stream closes the
  // socket when it expires, and then the 408 could not be written. This one
  // only cancels the pending read.
  void arm_deadline() {
    lowest().expires_never();
    timed_out_ = false;
    deadline_.expires_after(shared_->options.read_timeout);
    deadline_.async_wait([self = this->shared_from_this(), gen = ++deadline_gen_](beast::error_code ec) {
      if (ec || gen != self->deadline_gen_) return;  // disarmed or re-armed meanwhile
      self->timed_out_ = true;
      self->lowest().cancel();
    });
  }

  void disarm_deadline() {
    ++deadline_gen_;
    deadline_.cancel();
  }

  void on_head(beast::error_code ec) {
    // timed_out_ without an error: the head completed just as the deadline
    // fired; its cancel came too late to stop the read, so stop here.
    if (ec || timed_out_) return fail_read(ec);
    const auto& head = parser_->get();
    // Beast decodes only the chunked framing: "gzip, chunked" would hand the
    // handler compressed bytes as if they were the body. Refuse any other coding.
    if (auto te = head.find(http::field::transfer_encoding); te != head.end() && !only_chunked(te->value())) {
      return reply_and_close(to_response(problem(
          ApiErrc::not_implemented, "Transfer-Encoding '" + std::string(te->value().substr(0, 64)) +
                                        "' is not supported (chunked only)")));
    }
    std::size_t limit = shared_->options.body_limit;
    if (shared_->options.body_limit_for) {
      std::string target(head.target());
      std::string path = target.substr(0, target.find('?'));
      limit = shared_->options.body_limit_for(std::string(head.method_string()), path);
    }
    if (!parser_->is_done() && shared_->options.refuse_before_body) {
      // A body follows: let the application refuse (401/404...) before we
      // spend bandwidth and memory on it (and before telling a stranger the limits).
      Request req;
      req.peer = peer_;
      version_ = head.version();
      if (to_request(head, req)) {
        if (auto refusal = shared_->options.refuse_before_body(req)) return reply_and_close(std::move(*refusal));
      }
    }
    if (auto len = parser_->content_length(); len && *len > limit) {
      return reply_and_close(to_response(problem(
          ApiErrc::payload_too_large, "body of " + std::to_string(*len) + " bytes exceeds " + std::to_string(limit))));
    }
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec2, std::size_t) {
      self->on_body(ec2);
    });
  }

  void on_body(beast::error_code ec) {
    if (ec) return fail_read(ec);
    disarm_deadline();
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
    // A handler that throws must not take the io thread (and with it the
    // process) down: the client gets a 500, the application hears of it.
    const Responder keep = responder;
    const std::string what = req.method + " " + req.path;
    try {
      shared_->handler(std::move(req), std::move(responder));
    } catch (const std::exception& e) {
      handler_failed(keep, what, e.what());
    } catch (...) {
      handler_failed(keep, what, "unknown exception");
    }
  }

  void handler_failed(const Responder& out, const std::string& what, const std::string& why) {
    shared_->handler_exceptions.fetch_add(1, std::memory_order_relaxed);
    if (shared_->options.on_handler_exception) shared_->options.on_handler_exception(what, why);
    out.send(problem(ApiErrc::internal, "internal error while handling " + what));
  }

  void fail_read(const beast::error_code& ec) {
    keep_alive_ = false;
    if (timed_out_) {
      // Bytes of this request arrived but not all of it: say why we hang
      // up. A connection that sent nothing gets no answer.
      if (buffer_.size() == 0 && !parser_->got_some()) return close();
      // A trickling peer has little in flight: a short linger suffices, and
      // the connection ends close to the deadline rather than a second on.
      linger_ = std::min<std::chrono::milliseconds>(kMaxLinger, shared_->options.read_timeout / 4);
      return reply_and_close(to_response(problem(
          ApiErrc::request_timeout, "request not received within " +
                                        std::to_string(shared_->options.read_timeout.count()) + " ms")));
    }
    auto p = problem_for_read_error(ec);
    if (!p) return close();
    reply_and_close(to_response(*p));
  }

  void reply_and_close(Response r) {
    keep_alive_ = false;
    // The peer may still be sending the body we refused: read and discard
    // it for a moment after answering (a lingering close), or the kernel
    // resets the connection and the client never sees the 413.
    drain_ = true;
    respond(std::move(r));
  }

  void drain() {
    if (!drain_buf_) drain_buf_ = std::make_unique<std::array<char, 16384>>();
    stream_.async_read_some(asio::buffer(*drain_buf_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void respond(Response r) {
    disarm_deadline();  // a deadline firing now would cancel the write
    res_ = std::make_shared<http::response<http::string_body>>(
        to_beast(r, version_, keep_alive_, shared_->options.server_header));
    lowest().expires_after(shared_->options.write_timeout);
    http::async_write(stream_, *res_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->res_.reset();
      if (!ec && self->drain_) {
        self->drain_ = false;
        self->lowest().expires_after(self->linger_);
        return self->drain();
      }
      if (ec || !self->keep_alive_) return self->close();
      self->next_request(true);
    });
  }

  void close() {
    disarm_deadline();  // its pending wait would keep this session alive until it fires
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

  static constexpr std::size_t kFirstRead = 4096;
  static constexpr std::chrono::milliseconds kMaxLinger{1000};

  Stream stream_;
  asio::steady_timer deadline_{stream_.get_executor()};
  std::uint64_t deadline_gen_ = 0;
  bool timed_out_ = false;
  std::chrono::milliseconds linger_ = kMaxLinger;
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
