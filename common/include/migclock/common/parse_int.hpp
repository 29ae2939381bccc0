// Checked decimal integer parsing, the one copy every command line, config
// file and query string uses (issue 11): a value that is not wholly an
// integer in range is refused, never truncated or wrapped.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace migclock {

// `text` as a base-10 integer in [lo, hi], or nullopt when it is empty, has
// anything but an optional leading '-' or '+' and digits (whitespace and
// trailing garbage included), overflows int64, or falls outside the range.
std::optional<int64_t> parse_int(std::string_view text, int64_t lo = std::numeric_limits<int64_t>::min(),
                                 int64_t hi = std::numeric_limits<int64_t>::max());

}  // namespace migclock
