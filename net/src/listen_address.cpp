#include "migclock/net/listen_address.hpp"

#include <arpa/inet.h>

#include <cstdlib>

#include "migclock/common/parse_int.hpp"

namespace migclock::net {

Result<HostPort> parse_host_port(const std::string& s) {
  HostPort hp;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return make_error(errc::invalid_argument, "listen address '" + s + "': expected [v6]:PORT");
    hp.host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return make_error(errc::invalid_argument, "address '" + s + "': expected HOST:PORT");
    hp.host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
    return make_error(errc::invalid_argument, "address '" + s + "': bad port");
  const auto p = parse_int(port, 0, 65535);
  if (!p) return make_error(errc::invalid_argument, "address '" + s + "': port out of range");
  hp.port = static_cast<uint16_t>(*p);
  return hp;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

}  // namespace migclock::net
