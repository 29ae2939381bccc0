// The guest companion's wire protocol, version 1 (docs/guest-companion.md).
//
// Text lines of printable ASCII ending in '\n', at most kMaxLine bytes
// including the newline, fields separated by exactly one space. Every line
// starts with the version tag "MCC1"; a request carries an id the reply
// echoes, so a host that timed out can drop a late reply.
//
//   host -> guest                      guest -> host
//   MCC1 T <id>                        MCC1 t <id> <sec> <nsec>      CLOCK_REALTIME, read last
//   MCC1 S <id> <ns> [big]             MCC1 s <id> ok <ns> | MCC1 s <id> no <why>
//   MCC1 I <id>                        MCC1 i <id> key=value ...
//   (a well-formed line, unknown verb) MCC1 e <id> unknown
//
// Parsing is strict (no signs on ids, no leading '+', no spaces in excess,
// no trailing bytes): anything else is malformed, counted, and never
// answered, so garbage cannot make the guest act or talk. Shared by the
// guest program and the agent's client (agent/sync/companion_channel), and
// free of any dependency so the guest binary links it statically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace migclock::guest {

inline constexpr const char* kPortName = "org.migclock.clock.0";
inline constexpr const char* kVersionTag = "MCC1";
inline constexpr std::size_t kMaxLine = 128;  // bytes including '\n'

enum class Verb { time, step, info };

struct Request {
  Verb verb = Verb::time;
  uint64_t id = 0;
  int64_t step_ns = 0;    // Verb::step
  bool big = false;       // Verb::step: the sender explicitly allows a step above the guest's bound
};

// Why a line was not a request. `unknown_verb` is the one case that gets an
// answer ("MCC1 e <id> unknown"): tag and id parsed, so the line is from a
// peer speaking a newer protocol, not noise.
enum class ParseError { malformed, unknown_verb };

struct ParseResult {
  std::optional<Request> request;
  ParseError error = ParseError::malformed;
  uint64_t id = 0;  // set for unknown_verb
};

// One line without its '\n'.
ParseResult parse_request(std::string_view line);

// Strict decimal parsers: the whole text, no whitespace, no '+', at most
// the digits the type holds, no overflow.
std::optional<uint64_t> parse_u64(std::string_view s);
std::optional<int64_t> parse_i64(std::string_view s);

// Request lines (with '\n'), for the host side and the tests.
std::string format_time_request(uint64_t id);
std::string format_step_request(uint64_t id, int64_t step_ns, bool big);
std::string format_info_request(uint64_t id);

// Replies as the host sees them.
struct Reply {
  char verb = 0;  // 't', 's', 'i', 'e'
  uint64_t id = 0;
  int64_t sec = 0, nsec = 0;  // 't'
  bool ok = false;            // 's'
  int64_t step_ns = 0;        // 's' ok
  std::string text;           // 's' no: why; 'i': the key=value list; 'e': the error
};
std::optional<Reply> parse_reply(std::string_view line);

// Value of `key` in an info reply's "k=v k=v" text.
std::optional<std::string> info_value(std::string_view text, std::string_view key);

}  // namespace migclock::guest
