// Bearer tokens: random secrets shown once, stored only as SHA-256 hex.
#pragma once

#include <string>

#include "migclock/common/result.hpp"
#include "migclock/controller/model.hpp"

namespace migclock::controller {

// "mct_" + 64 hex characters (32 random bytes from OpenSSL's CSPRNG).
Result<std::string> generate_token_secret();
std::string sha256_hex(const std::string& data);

// Route permission bits (Router tags). A token of scope read satisfies
// kRead, write satisfies kRead|kWrite, agent satisfies kAgent.
inline constexpr unsigned kPublic = 0;
inline constexpr unsigned kRead = 1;
inline constexpr unsigned kWrite = 2;
inline constexpr unsigned kAgent = 4;
bool scope_allows(Scope s, unsigned route_mask);

}  // namespace migclock::controller
