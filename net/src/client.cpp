#include "migclock/net/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <optional>

#include "migclock/net/listen_address.hpp"

namespace migclock::net {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using UnixStream = beast::basic_stream<asio::local::stream_protocol>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Client::Impl {
  ClientOptions options;
  enum class Kind { https, http, unix_socket } kind = Kind::https;
  std::string host;
  std::string port;
  std::string unix_path;
  std::optional<Error> config_error;

  asio::io_context ioc;
  std::optional<asio::ssl::context> tls;
  std::optional<TlsStream> tls_stream;
  std::optional<beast::tcp_stream> tcp_stream;
  std::optional<UnixStream> unix_stream;
  beast::flat_buffer buffer;
  bool connected = false;

  explicit Impl(ClientOptions o) : options(std::move(o)) { parse_server(); }

  void parse_server() {
    const std::string& s = options.server;
    std::string rest;
    if (s.rfind("unix:", 0) == 0) {
      kind = Kind::unix_socket;
      unix_path = s.substr(5);
      if (unix_path.empty()) config_error = make_error(errc::invalid_argument, "server 'unix:' needs a path");
      return;
    }
    if (s.rfind("https://", 0) == 0) {
      kind = Kind::https;
      rest = s.substr(8);
    } else if (s.rfind("http://", 0) == 0) {
      kind = Kind::http;
      rest = s.substr(7);
    } else {
      config_error = make_error(errc::invalid_argument,
                                "server '" + s + "': expected https://HOST:PORT, http://HOST:PORT or unix:/PATH");
      return;
    }
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    auto hp = parse_host_port(rest);
    if (!hp) {
      if (rest.find(':') == std::string::npos && !rest.empty()) {
        host = rest;
        port = kind == Kind::https ? "443" : "80";
        return;
      }
      config_error = hp.error();
      return;
    }
    host = hp->host;
    port = std::to_string(hp->port);
  }

  void disconnect() {
    beast::error_code ec;
    if (tls_stream) beast::get_lowest_layer(*tls_stream).socket().close(ec);
    if (tcp_stream) tcp_stream->socket().close(ec);
    if (unix_stream) unix_stream->socket().close(ec);
    tls_stream.reset();
    tcp_stream.reset();
    unix_stream.reset();
    buffer.clear();
    connected = false;
  }

  // Runs queued async work until done; every op carries its own expiry.
  void run() {
    ioc.restart();
    ioc.run();
  }

  Status connect() {
    auto deadline = options.timeout;
    beast::error_code ec;
    if (kind == Kind::unix_socket) {
      unix_stream.emplace(ioc);
      unix_stream->expires_after(deadline);
      unix_stream->async_connect(asio::local::stream_protocol::endpoint(unix_path),
                                 [&](beast::error_code e) { ec = e; });
      run();
      if (ec) return fail("connect unix:" + unix_path, ec);
      connected = true;
      return {};
    }
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, port, ec);
    if (ec) return make_error(errc::unavailable, "resolve " + host + ": " + ec.message());
    if (kind == Kind::http) {
      tcp_stream.emplace(ioc);
      tcp_stream->expires_after(deadline);
      tcp_stream->async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
      run();
      if (ec) return fail("connect " + host + ":" + port, ec);
      tcp_stream->socket().set_option(tcp::no_delay(true), ec);
      connected = true;
      return {};
    }
    if (!tls) {
      tls.emplace(asio::ssl::context::tls_client);
      tls->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
      if (options.ca_file.empty()) tls->set_default_verify_paths(ec);
      else tls->load_verify_file(options.ca_file, ec);
      if (ec) {
        tls.reset();
        return make_error(errc::invalid_argument, "CA file '" + options.ca_file + "': " + ec.message());
      }
      tls->set_verify_mode(asio::ssl::verify_peer);
      if (!options.cert_file.empty()) {
        tls->use_certificate_chain_file(options.cert_file, ec);
        if (!ec) tls->use_private_key_file(options.key_file, asio::ssl::context::pem, ec);
        if (ec) {
          tls.reset();
          return make_error(errc::invalid_argument, "client certificate '" + options.cert_file + "': " + ec.message());
        }
      }
    }
    tls_stream.emplace(ioc, *tls);
    tls_stream->set_verify_callback(asio::ssl::host_name_verification(host));
    if (!SSL_set_tlsext_host_name(tls_stream->native_handle(), host.c_str())) {
      return make_error(errc::invalid_argument, "SNI host name '" + host + "'");
    }
    auto& low = beast::get_lowest_layer(*tls_stream);
    low.expires_after(deadline);
    low.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) return fail("connect " + host + ":" + port, ec);
    low.socket().set_option(tcp::no_delay(true), ec);
    low.expires_after(deadline);
    tls_stream->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run();
    if (ec) return fail("TLS handshake with " + host + ":" + port, ec);
    connected = true;
    return {};
  }

  static Error fail(const std::string& what, const beast::error_code& ec) {
    if (ec == beast::error::timeout) return make_error(errc::timeout, what + ": timed out");
    return make_error(errc::unavailable, what + ": " + ec.message());
  }

  template <class Stream>
  Status exchange(Stream& stream, http::request<http::string_body>& req, Response& out) {
    beast::error_code ec;
    auto& low = beast::get_lowest_layer(stream);
    low.expires_after(options.timeout);
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    // A server may answer early (413 to a body it refuses) and stop
    // reading: the write then fails, but the answer may be readable.
    bool write_failed = ec && (ec == asio::error::broken_pipe || ec == asio::error::connection_reset);
    beast::error_code write_ec = ec;
    if (ec && !write_failed) return fail(req.method_string().to_string() + " " + std::string(req.target()), ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    parser.header_limit(64 * 1024);
    low.expires_after(options.timeout);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (ec && write_failed) return fail(req.method_string().to_string() + " " + std::string(req.target()), write_ec);
    if (ec) return fail("response to " + std::string(req.target()), ec);
    auto res = parser.release();
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    out.headers.clear();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    if (!res.keep_alive() || write_failed) disconnect();
    return {};
  }

  Status once(http::request<http::string_body>& req, Response& out) {
    if (!connected) MIGCLOCK_TRY(connect());
    if (tls_stream) return exchange(*tls_stream, req, out);
    if (tcp_stream) return exchange(*tcp_stream, req, out);
    return exchange(*unix_stream, req, out);
  }
};

// Several servers: which one is current, and when each may be tried again.
struct Client::Failover {
  ClientOptions options;  // as given (the whole list)
  std::vector<std::string> servers;
  std::size_t current = 0;
  std::vector<std::chrono::steady_clock::time_point> retry_at;
  std::vector<std::chrono::milliseconds> backoff;
};

namespace {
std::vector<std::string> split_servers(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto comma = list.find(',', start);
    std::string one = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    one.erase(0, one.find_first_not_of(" \t"));
    one.erase(one.find_last_not_of(" \t") + 1);
    if (!one.empty()) out.push_back(one);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}
}  // namespace

Client::Client(ClientOptions options) {
  auto servers = options.server.rfind("unix:", 0) == 0 ? std::vector<std::string>{options.server}
                                                        : split_servers(options.server);
  if (servers.size() > 1) {
    failover_ = std::make_unique<Failover>();
    failover_->options = options;
    failover_->servers = servers;
    failover_->retry_at.assign(servers.size(), {});
    failover_->backoff.assign(servers.size(), std::chrono::milliseconds(1000));
    options.server = servers.front();
  } else if (servers.size() == 1) {
    options.server = servers.front();
  }
  impl_ = std::make_unique<Impl>(std::move(options));
}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::set_timeout(std::chrono::milliseconds t) {
  impl_->options.timeout = t;
  if (failover_) failover_->options.timeout = t;
}
const ClientOptions& Client::options() const { return failover_ ? failover_->options : impl_->options; }
void Client::close() { impl_->disconnect(); }
std::string Client::current_server() const { return impl_->options.server; }

Result<Response> Client::request(const std::string& method, const std::string& target, const std::string& body,
                                 const std::string& content_type,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  if (!failover_) return request_one(method, target, body, content_type, headers);
  auto& f = *failover_;
  const std::size_t n = f.servers.size();
  // Servers in turn from the current one; those in backoff last.
  std::vector<std::size_t> order;
  const auto now = std::chrono::steady_clock::now();
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t s = (f.current + i) % n;
      if ((f.retry_at[s] <= now) == (pass == 0)) order.push_back(s);
    }
  Result<Response> last = make_error(errc::unavailable, "no server");
  for (std::size_t s : order) {
    if (s != f.current || impl_->options.server != f.servers[s]) {
      ClientOptions o = f.options;
      o.server = f.servers[s];
      impl_ = std::make_unique<Impl>(std::move(o));
      f.current = s;
    }
    last = request_one(method, target, body, content_type, headers);
    if (last.ok()) {
      f.retry_at[s] = {};
      f.backoff[s] = std::chrono::milliseconds(1000);
      return last;
    }
    if (last.error().code == make_error_code(errc::invalid_argument)) return last;
    f.retry_at[s] = std::chrono::steady_clock::now() + f.backoff[s];
    f.backoff[s] = std::min(f.backoff[s] * 2, std::chrono::milliseconds(30'000));
  }
  return last;
}

Result<Response> Client::request_one(const std::string& method, const std::string& target, const std::string& body,
                                     const std::string& content_type,
                                     const std::vector<std::pair<std::string, std::string>>& headers) {
  if (impl_->config_error) return *impl_->config_error;
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->kind == Impl::Kind::unix_socket ? std::string("localhost")
                                                                      : impl_->host + ":" + impl_->port);
  req.set(http::field::user_agent, "migclock-net");
  if (!impl_->options.bearer_token.empty())
    req.set(http::field::authorization, "Bearer " + impl_->options.bearer_token);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.keep_alive(true);
  req.prepare_payload();

  bool reused = impl_->connected;
  Response out;
  auto st = impl_->once(req, out);
  if (!st.ok() && reused && st.error().code != make_error_code(errc::timeout)) {
    // The server may have closed an idle keep-alive connection: one retry.
    impl_->disconnect();
    st = impl_->once(req, out);
  }
  if (!st.ok()) {
    impl_->disconnect();
    return st.error();
  }
  return out;
}

}  // namespace migclock::net
