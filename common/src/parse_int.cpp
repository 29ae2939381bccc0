#include "migclock/common/parse_int.hpp"

#include <charconv>

namespace migclock {

std::optional<int64_t> parse_int(std::string_view text, int64_t lo, int64_t hi) {
  // from_chars takes no '+' (strtoll did; config files and flags may carry one).
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  if (value < lo || value > hi) return std::nullopt;
  return value;
}

}  // namespace migclock
