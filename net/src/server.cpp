#include "migclock/net/server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "migclock/net/listen_address.hpp"
#include "session.hpp"

namespace migclock::net {

using namespace detail;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

struct Server::Impl {
  asio::io_context ioc;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::vector<std::unique_ptr<asio::ssl::context>> tls_contexts;
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<std::unique_ptr<local::acceptor>> unix_acceptors;
  std::vector<std::string> unix_paths;
  std::vector<std::thread> threads;
  std::vector<std::function<void()>> starters;

  explicit Impl(std::size_t threads_hint) : ioc(static_cast<int>(threads_hint)) {}

  Result<tcp::acceptor*> bind_tcp(const std::string& host, uint16_t port) {
    beast::error_code ec;
    auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) return make_error(errc::invalid_argument, "listen host '" + host + "' is not an IP address");
    auto acc = std::make_unique<tcp::acceptor>(asio::make_strand(ioc));
    tcp::endpoint ep(addr, port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(errc::unavailable, "listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    tcp_acceptors.push_back(std::move(acc));
    return tcp_acceptors.back().get();
  }

  static PeerInfo tcp_peer(const tcp::socket& s, Transport t) {
    PeerInfo p;
    p.transport = t;
    beast::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (!ec) p.address = ep.address().to_string() + ":" + std::to_string(ep.port());
    return p;
  }

  void accept_tcp(tcp::acceptor* acc, asio::ssl::context* tls) {
    acc->async_accept(asio::make_strand(ioc), [this, acc, tls](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acc->is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        if (tls) {
          auto peer = tcp_peer(socket, Transport::tls);
          std::make_shared<Session<TlsStream>>(TlsStream(beast::tcp_stream(std::move(socket)), *tls), shared,
                                               std::move(peer))->run();
        } else {
          auto peer = tcp_peer(socket, Transport::plain_tcp);
          std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared, std::move(peer))
              ->run();
        }
      }
      accept_tcp(acc, tls);
    });
  }

  void accept_unix(local::acceptor* acc, std::string path) {
    acc->async_accept(asio::make_strand(ioc), [this, acc, path](beast::error_code ec, local::socket socket) {
      if (ec == asio::error::operation_aborted || !acc->is_open()) return;
      if (!ec) {
        PeerInfo peer;
        peer.transport = Transport::unix_socket;
        peer.address = path;
        ucred cred{};
        socklen_t len = sizeof(cred);
        if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
          peer.uid = cred.uid;
          peer.gid = cred.gid;
          peer.pid = cred.pid;
        }
        std::make_shared<Session<UnixStream>>(UnixStream(std::move(socket)), shared, std::move(peer))->run();
      }
      accept_unix(acc, path);
    });
  }
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(options.threads == 0 ? 1 : options.threads)) {
  impl_->shared->options = std::move(options);
  impl_->shared->handler = std::move(handler);
}

Server::~Server() { stop(); }

Result<uint16_t> Server::listen_tls(const std::string& host, uint16_t port, const TlsFiles& tls) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                   asio::ssl::context::single_dh_use);
  beast::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_chain_file, ec);
  if (ec) return make_error(errc::invalid_argument, "TLS certificate '" + tls.cert_chain_file + "': " + ec.message());
  ctx->use_private_key_file(tls.private_key_file, asio::ssl::context::pem, ec);
  if (ec) return make_error(errc::invalid_argument, "TLS key '" + tls.private_key_file + "': " + ec.message());
  auto acc = impl_->bind_tcp(host, port);
  if (!acc) return acc.error();
  auto* ctx_ptr = ctx.get();
  impl_->tls_contexts.push_back(std::move(ctx));
  tcp::acceptor* a = *acc;
  impl_->starters.push_back([this, a, ctx_ptr] { impl_->accept_tcp(a, ctx_ptr); });
  return a->local_endpoint().port();
}

Result<uint16_t> Server::listen_plain(const std::string& host, uint16_t port) {
  if (!is_loopback_host(host))
    return make_error(errc::invalid_argument, "plain HTTP is only allowed on a loopback address, not '" + host + "'");
  auto acc = impl_->bind_tcp(host, port);
  if (!acc) return acc.error();
  tcp::acceptor* a = *acc;
  impl_->starters.push_back([this, a] { impl_->accept_tcp(a, nullptr); });
  return a->local_endpoint().port();
}

Status Server::listen_unix(const std::string& path, unsigned mode) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return make_error(errc::invalid_argument, path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  beast::error_code ec;
  auto acc = std::make_unique<local::acceptor>(asio::make_strand(impl_->ioc));
  local::endpoint ep(path);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(errc::unavailable, "listen on unix:" + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0) return errno_error(errno, "chmod " + path);
  auto* a = acc.get();
  impl_->unix_acceptors.push_back(std::move(acc));
  impl_->unix_paths.push_back(path);
  impl_->starters.push_back([this, a, path] { impl_->accept_unix(a, path); });
  return {};
}

uint64_t Server::handler_exceptions() const { return impl_->shared->handler_exceptions.load(); }

Status Server::start() {
  if (impl_->starters.empty()) return make_error(errc::invalid_argument, "server has no listener");
  for (auto& s : impl_->starters) s();
  impl_->starters.clear();
  std::size_t n = impl_->shared->options.threads == 0 ? 1 : impl_->shared->options.threads;
  for (std::size_t i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return {};
}

void Server::stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->shared->mutex);
    if (impl_->shared->stopped) return;
    impl_->shared->stopped = true;
  }
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    for (auto& a : impl_->tcp_acceptors) a->close(ec);
    for (auto& a : impl_->unix_acceptors) a->close(ec);
  });
  // Let in-flight writes finish briefly, then stop the loop.
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
  for (const auto& p : impl_->unix_paths) ::unlink(p.c_str());
}

}  // namespace migclock::net
