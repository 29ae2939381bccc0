// Shared by net/ and controller tests: dev certificates made once per
// process by the real tools/make-dev-certs.sh, and a raw TCP socket for
// hostile-client tests.
#pragma once

#include <chrono>
#include <string>

namespace migclock::testing {

struct DevCerts {
  std::string dir, ca, cert, key;
};
// Generated on first use into a temp dir (needs `openssl`).
const DevCerts& dev_certs();

// A raw loopback TCP connection (no TLS) for byte-level abuse.
class RawSocket {
 public:
  explicit RawSocket(unsigned short port);
  ~RawSocket();
  bool send_all(const std::string& bytes);
  // Reads until EOF or `limit`; returns what arrived. `closed` tells whether
  // the peer closed the connection within the limit.
  std::string read_until_close(std::chrono::milliseconds limit, bool* closed);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// A TLS client at the byte level (OpenSSL on a blocking socket, the dev CA
// trusted): what RawSocket is for plain TCP, after the handshake.
class TlsRawSocket {
 public:
  TlsRawSocket(unsigned short port, const std::string& ca_file);
  ~TlsRawSocket();
  TlsRawSocket(const TlsRawSocket&) = delete;
  TlsRawSocket& operator=(const TlsRawSocket&) = delete;
  bool send_all(const std::string& bytes);
  // As RawSocket::read_until_close; a TLS close_notify or a TCP close both
  // count as closed.
  std::string read_until_close(std::chrono::milliseconds limit, bool* closed);

 private:
  RawSocket tcp_;
  struct Tls;
  Tls* tls_ = nullptr;
};

// Slowloris, plain or TLS: sends `bytes` one at a time, `gap` apart,
// reading meanwhile; stops early once the server closes.
struct Trickled {
  std::string reply;  // what the server sent
  bool closed = false;
  std::chrono::steady_clock::time_point first_reply_at{};  // when its first byte came
};
template <class Socket>
Trickled trickle(Socket& s, const std::string& bytes, std::chrono::milliseconds gap) {
  Trickled t;
  for (char c : bytes) {
    if (!s.send_all(std::string(1, c))) {
      t.closed = true;
      break;
    }
    bool before = !t.reply.empty();
    t.reply += s.read_until_close(gap, &t.closed);
    if (!before && !t.reply.empty()) t.first_reply_at = std::chrono::steady_clock::now();
    if (t.closed) break;
  }
  return t;
}

// Sends `request` and reads one whole response (head + Content-Length
// body), giving up after 3 s or at a close.
template <class Socket>
std::string exchange(Socket& s, const std::string& request, bool* closed) {
  s.send_all(request);
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  *closed = false;
  while (!*closed && std::chrono::steady_clock::now() < deadline) {
    got += s.read_until_close(std::chrono::milliseconds(20), closed);
    auto end = got.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    auto cl = got.find("Content-Length: ");
    std::size_t len = cl == std::string::npos || cl > end ? 0 : std::stoul(got.substr(cl + 16));
    if (got.size() >= end + 4 + len) break;
  }
  return got;
}

std::string make_temp_dir(const std::string& prefix);

}  // namespace migclock::testing
