// "HOST:PORT", "[v6]:PORT" and "unix:/path" listen/connect addresses.
#pragma once

#include <cstdint>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::net {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// "127.0.0.1:8443", "[::1]:8443", "localhost:0". Port 0 = pick one.
Result<HostPort> parse_host_port(const std::string& s);

// True for 127.0.0.0/8, ::1 and "localhost" (plain HTTP is only allowed there).
bool is_loopback_host(const std::string& host);

}  // namespace migclock::net
