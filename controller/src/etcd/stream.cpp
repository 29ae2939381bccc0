#include "stream.hpp"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>


namespace migclock::controller::etcd {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool split_endpoint(const std::string& endpoint, std::string& host, std::string& port, bool& tls) {
  tls = endpoint.rfind("https://", 0) == 0;
  if (!tls && endpoint.rfind("http://", 0) != 0) return false;
  std::string rest = endpoint.substr(tls ? 8 : 7);
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
                          const std::function<bool(const std::string&)>& on_message, const Tls& tls_files,
                          const std::string& authorization) {
  std::string host, port;
  bool tls = false;
  if (!split_endpoint(endpoint, host, port, tls))
    return make_error(errc::invalid_argument, "etcd endpoint '" + endpoint + "': expected http(s)://HOST:PORT");
  asio::io_context ioc;
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto addrs = resolver.resolve(host, port, ec);
  if (ec) return make_error(errc::unavailable, "resolve " + endpoint + ": " + ec.message());
  asio::ssl::context ctx(asio::ssl::context::tls_client);  // unused for http://
  if (tls) {
    if (tls_files.ca_file.empty()) ctx.set_default_verify_paths(ec);
    else ctx.load_verify_file(tls_files.ca_file, ec);
    if (!ec && !tls_files.cert_file.empty()) ctx.use_certificate_chain_file(tls_files.cert_file, ec);
    if (!ec && !tls_files.key_file.empty()) ctx.use_private_key_file(tls_files.key_file, asio::ssl::context::pem, ec);
    if (ec) return make_error(errc::invalid_argument, "etcd TLS files: " + ec.message());
    ctx.set_verify_mode(asio::ssl::verify_peer);
  }
  beast::ssl_stream<tcp::socket> tls_stream(ioc, ctx);
  tcp::socket& sock = tls_stream.next_layer();
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
  if (!tls) return exchange(sock, endpoint, host + ":" + port, target, body, authorization, on_message);
  tls_stream.set_verify_callback(asio::ssl::host_name_verification(host));
  SSL_set_tlsext_host_name(tls_stream.native_handle(), host.c_str());
  tls_stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return make_error(errc::unavailable, "TLS handshake with " + endpoint + ": " + ec.message());
  return exchange(tls_stream, endpoint, host + ":" + port, target, body, authorization, on_message);
}

template <class Stream>
Status StreamingPost::exchange(Stream& sock, const std::string& endpoint, const std::string& hostport,
                               const std::string& target, const std::string& body, const std::string& authorization,
                               const std::function<bool(const std::string&)>& on_message) {
  beast::error_code ec;
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, hostport);
  req.set(http::field::content_type, "application/json");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
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
