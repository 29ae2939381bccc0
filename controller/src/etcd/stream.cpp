#include "stream.hpp"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace migclock::controller::etcd {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool split_http_endpoint(const std::string& endpoint, std::string& host, std::string& port) {
  if (endpoint.rfind("http://", 0) != 0) return false;
  std::string rest = endpoint.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return false;
  host = rest.substr(0, colon);
  port = rest.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

void StreamingPost::cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes a blocked read
}

Status StreamingPost::run(const std::string& endpoint, const std::string& target, const std::string& body,
                          const std::function<bool(const std::string&)>& on_message) {
  std::string host, port;
  if (!split_http_endpoint(endpoint, host, port))
    return make_error(errc::invalid_argument, "etcd endpoint '" + endpoint + "': expected http://HOST:PORT");
  asio::io_context ioc;
  tcp::socket sock(ioc);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto addrs = resolver.resolve(host, port, ec);
  if (ec) return make_error(errc::unavailable, "resolve " + endpoint + ": " + ec.message());
  asio::connect(sock, addrs, ec);
  if (ec) return make_error(errc::unavailable, "connect " + endpoint + ": " + ec.message());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return {};
    fd_ = sock.native_handle();
  }
  struct Unregister {
    StreamingPost* self;
    ~Unregister() {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->fd_ = -1;
    }
  } unregister{this};

  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, host + ":" + port);
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req, ec);
  if (ec) return make_error(errc::unavailable, "watch request to " + endpoint + ": " + ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.body_limit(boost::none);
  http::read_header(sock, buffer, parser, ec);
  if (ec) return make_error(errc::unavailable, "watch answer from " + endpoint + ": " + ec.message());
  if (parser.get().result_int() != 200)
    return make_error(errc::unavailable, "watch on " + endpoint + ": HTTP " + std::to_string(parser.get().result_int()));

  std::string pending;
  bool keep_going = true;
  auto on_body = [&](std::uint64_t remain, beast::string_view data, beast::error_code& e) -> std::size_t {
    pending.append(data.data(), data.size());
    std::size_t nl;
    while (keep_going && (nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && line != "\r") keep_going = on_message(line);
    }
    if (remain == data.size()) e = http::error::end_of_chunk;
    return data.size();
  };
  parser.on_chunk_body(on_body);
  while (keep_going && !parser.is_done()) {
    http::read(sock, buffer, parser, ec);
    if (!ec) continue;
    if (ec == http::error::end_of_chunk) {
      ec = {};
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return {};
    return make_error(errc::unavailable, "watch stream from " + endpoint + ": " + ec.message());
  }
  if (!keep_going) return {};
  return make_error(errc::unavailable, "watch stream from " + endpoint + " ended");
}

}  // namespace migclock::controller::etcd
