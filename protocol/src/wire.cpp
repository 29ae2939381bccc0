#include "migclock/protocol/wire.hpp"

namespace migclock::protocol {

Error malformed(const std::string& what, const net::Problem& p) {
  return make_error(errc::malformed_input, what + ": " + p.message);
}

}  // namespace migclock::protocol
