#include "migclock/agent/unix_http_server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <filesystem>
#include <list>
#include <mutex>
#include <spdlog/spdlog.h>

namespace migclock::agent {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using local = asio::local::stream_protocol;

struct UnixHttpServer::Impl {
  Handler handler;
  Gate gate;
  std::function<void()> on_refused;
  asio::io_context io;
  std::unique_ptr<local::acceptor> acceptor;
  std::thread accept_thread;
  std::mutex mu;
  struct Conn {
    std::thread thread;
    std::shared_ptr<local::socket> sock;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Conn> conns;
  std::atomic<bool> stopping{false};
  std::string path;

  void serve(std::shared_ptr<local::socket> sock) {
    ucred cred{};
    socklen_t len = sizeof cred;
    PeerCred peer;
    if (::getsockopt(sock->native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      peer = PeerCred{cred.pid, cred.uid, cred.gid};
    }
    // A stuck client must not pin a thread forever.
    timeval tv{10, 0};
    ::setsockopt(sock->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    boost::beast::flat_buffer buf;
    const bool allowed = gate(peer);
    while (!stopping.load()) {
      http::request<http::string_body> req;
      http::request_parser<http::string_body> parser;
      parser.body_limit(32u << 20);
      boost::system::error_code ec;
      http::read(*sock, buf, parser, ec);
      if (ec) break;
      req = parser.release();
      http::response<http::string_body> res;
      res.version(req.version());
      if (!allowed) {
        if (on_refused) on_refused();
        spdlog::warn("local API: refused peer pid={} uid={} gid={} (not root, not in the socket group)", peer.pid,
                     peer.uid, peer.gid);
        res.result(http::status::forbidden);
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"error":"forbidden","message":"peer is not root or in the agent's socket group"})";
        res.keep_alive(false);
      } else {
        ApiRequest api{std::string(req.method_string()), std::string(req.target()), std::move(req.body()), peer};
        ApiResponse out;
        try {
          out = handler(api);
        } catch (const std::exception& e) {
          out = ApiResponse{500, "application/json", std::string(R"({"error":"internal","message":")") + "exception" + "\"}"};
          spdlog::error("local API: {} {}: {}", api.method, api.target, e.what());
        }
        res.result(static_cast<http::status>(out.status));
        res.set(http::field::content_type, out.content_type);
        res.body() = std::move(out.body);
        res.keep_alive(req.keep_alive());
      }
      res.prepare_payload();
      http::write(*sock, res, ec);
      if (ec || !res.keep_alive()) break;
    }
    boost::system::error_code ignore;
    sock->shutdown(local::socket::shutdown_both, ignore);
    sock->close(ignore);
  }
};

UnixHttpServer::UnixHttpServer(Handler handler, Gate gate, std::function<void()> on_refused)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->gate = std::move(gate);
  impl_->on_refused = std::move(on_refused);
}

UnixHttpServer::~UnixHttpServer() { stop(); }

Status UnixHttpServer::start(const std::string& path, const std::string& group) {
  namespace fs = std::filesystem;
  std::error_code fec;
  fs::create_directories(fs::path(path).parent_path(), fec);
  if (fec) return errno_error(fec.value(), "create " + fs::path(path).parent_path().string());
  ::unlink(path.c_str());  // a stale socket from a previous run
  impl_->path = path;
  boost::system::error_code ec;
  auto acc = std::make_unique<local::acceptor>(impl_->io);
  acc->open(local::endpoint(path).protocol(), ec);
  if (!ec) acc->bind(local::endpoint(path), ec);
  if (!ec) acc->listen(64, ec);
  if (ec) return make_error(errc::io_error, "listen on " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0660);
  if (!group.empty()) {
    if (struct group* g = ::getgrnam(group.c_str())) {
      if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
        spdlog::warn("local API: chown {} to group {}: {}", path, group, std::strerror(errno));
    } else {
      spdlog::warn("local API: group '{}' does not exist; only root may connect", group);
    }
  }
  impl_->acceptor = std::move(acc);
  impl_->accept_thread = std::thread([this] {
    while (!impl_->stopping.load()) {
      auto sock = std::make_shared<local::socket>(impl_->io);
      boost::system::error_code aec;
      impl_->acceptor->accept(*sock, aec);
      if (aec) {
        if (impl_->stopping.load()) return;
        continue;
      }
      std::lock_guard<std::mutex> lock(impl_->mu);
      // Reap connections that have finished.
      for (auto it = impl_->conns.begin(); it != impl_->conns.end();) {
        if (it->done->load()) {
          it->thread.join();
          it = impl_->conns.erase(it);
        } else {
          ++it;
        }
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::thread t([this, sock, done] {
        impl_->serve(sock);
        done->store(true);
      });
      impl_->conns.push_back(Impl::Conn{std::move(t), sock, done});
    }
  });
  return {};
}

void UnixHttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  if (impl_->acceptor) {
    // shutdown() wakes the blocking accept() on Linux.
    ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::list<Impl::Conn> conns;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    conns.swap(impl_->conns);
  }
  for (auto& c : conns) {
    if (!c.done->load()) ::shutdown(c.sock->native_handle(), SHUT_RDWR);
    c.thread.join();
  }
  boost::system::error_code ec;
  if (impl_->acceptor) impl_->acceptor->close(ec);
  if (!impl_->path.empty()) ::unlink(impl_->path.c_str());
}

}  // namespace migclock::agent
