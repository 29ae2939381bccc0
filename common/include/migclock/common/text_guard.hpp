// Checks for untrusted text, shared by every component that parses or logs
// what a peer sent (controller, agent, hook, serialization): JSON nesting
// depth before a recursive parser sees it, UTF-8 well-formedness, and a
// log-safe rendering.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace migclock {

// The nesting cap of every JSON document migclock parses from a peer.
inline constexpr std::size_t kMaxJsonDepth = 32;

// False when `json` nests objects/arrays deeper than max_depth. A linear
// scan that skips strings: rapidjson's default parser recurses once per
// level, so 200,000 '[' overflow the stack before it could refuse them.
bool json_depth_ok(std::string_view json, std::size_t max_depth = kMaxJsonDepth);

// Length (1..4) of the well-formed UTF-8 sequence at text[i], or 0 if the
// bytes there are ill-formed (RFC 3629: stray continuation byte, overlong
// form, UTF-16 surrogate, beyond U+10FFFF, cut short).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);
// Offset of the first ill-formed byte, or npos when all of `text` is UTF-8.
std::size_t first_invalid_utf8(std::string_view text);
// `text` with each ill-formed byte replaced by U+FFFD (for display only).
std::string valid_utf8(std::string_view text);

// For log lines: control characters and backslash escaped (\n, \x1b...),
// ill-formed UTF-8 replaced, cut at max_bytes with "...(N bytes)" so one
// peer-chosen string can neither forge a line nor flood the log.
std::string log_safe(std::string_view text, std::size_t max_bytes = 256);

}  // namespace migclock
