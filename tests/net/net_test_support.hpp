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

std::string make_temp_dir(const std::string& prefix);

}  // namespace migclock::testing
