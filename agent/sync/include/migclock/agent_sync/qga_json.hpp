// Building QGA/QMP commands and reading their replies (rapidjson).
#pragma once

#include <cstdint>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::agent_sync {

std::string guest_get_time_command();
std::string guest_set_time_command(int64_t guest_realtime_ns);
std::string rtc_reset_reinjection_command();

// {"return": <int>} -> the integer (guest-get-time: ns since the epoch).
// {"error": {"class":..., "desc":...}} -> errc::io_error naming class+desc;
// anything else -> errc::malformed_input.
Result<int64_t> parse_int_return(const std::string& reply, const char* what);
// {"return": {...}} (any value) -> ok; errors as above.
Status parse_empty_return(const std::string& reply, const char* what);

}  // namespace migclock::agent_sync
