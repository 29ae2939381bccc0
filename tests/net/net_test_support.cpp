#include "net_test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#ifndef MIGCLOCK_MAKE_DEV_CERTS
#error "MIGCLOCK_MAKE_DEV_CERTS must point at tools/make-dev-certs.sh"
#endif

namespace migclock::testing {

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

const DevCerts& dev_certs() {
  static const DevCerts certs = [] {
    DevCerts c;
    c.dir = make_temp_dir("migclock-certs");
    std::string cmd = std::string(MIGCLOCK_MAKE_DEV_CERTS) + " " + c.dir + " localhost 127.0.0.1 >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-dev-certs.sh failed: " + cmd);
    c.ca = c.dir + "/ca.pem";
    c.cert = c.dir + "/server.pem";
    c.key = c.dir + "/server.key";
    return c;
  }();
  return certs;
}

RawSocket::RawSocket(unsigned short port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send_all(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string RawSocket::read_until_close(std::chrono::milliseconds limit, bool* closed) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  if (closed) *closed = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (closed) *closed = true;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

struct TlsRawSocket::Tls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
};

TlsRawSocket::TlsRawSocket(unsigned short port, const std::string& ca_file) : tcp_(port), tls_(new Tls) {
  tls_->ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_->ctx || SSL_CTX_load_verify_locations(tls_->ctx, ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error("TLS client context with CA " + ca_file + " failed");
  SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_PEER, nullptr);
  tls_->ssl = SSL_new(tls_->ctx);
  SSL_set_fd(tls_->ssl, tcp_.fd());
  SSL_set_tlsext_host_name(tls_->ssl, "localhost");
  if (SSL_connect(tls_->ssl) != 1) throw std::runtime_error("TLS handshake with 127.0.0.1 failed");
  ::fcntl(tcp_.fd(), F_SETFL, ::fcntl(tcp_.fd(), F_GETFL) | O_NONBLOCK);
}

TlsRawSocket::~TlsRawSocket() {
  if (tls_->ssl) SSL_free(tls_->ssl);
  if (tls_->ctx) SSL_CTX_free(tls_->ctx);
  delete tls_;
}

namespace {
// Waits for `events` on fd until `deadline`; false on timeout.
bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}
}  // namespace

// Non-blocking after the handshake: a blocking SSL_read would sit on a
// record that carries no application data (a session ticket) past `limit`.
bool TlsRawSocket::send_all(const std::string& bytes) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    int n = SSL_write(tls_->ssl, bytes.data(), static_cast<int>(bytes.size()));
    if (n == static_cast<int>(bytes.size())) return true;
    int err = SSL_get_error(tls_->ssl, n);
    short ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (ev == 0 || !wait_fd(tcp_.fd(), ev, deadline)) {
      ERR_clear_error();
      return false;
    }
  }
}

std::string TlsRawSocket::read_until_close(std::chrono::milliseconds limit, bool* closed) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  if (closed) *closed = false;
  for (;;) {
    char buf[4096];
    int n = SSL_read(tls_->ssl, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(tls_->ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait_fd(tcp_.fd(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return out;
      continue;
    }
    if (closed) *closed = true;  // close_notify, TCP close or reset
    ERR_clear_error();
    return out;
  }
}

}  // namespace migclock::testing
