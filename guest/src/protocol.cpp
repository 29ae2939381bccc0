#include "migclock/guest/protocol.hpp"

#include <vector>

namespace migclock::guest {

namespace {

// Splits on single spaces; an empty field (two spaces, leading or trailing
// space) makes the whole line malformed, hence nullopt.
std::optional<std::vector<std::string_view>> fields_of(std::string_view line, std::size_t most) {
  std::vector<std::string_view> out;
  std::size_t from = 0;
  while (true) {
    const std::size_t sp = line.find(' ', from);
    const std::string_view f = line.substr(from, sp == std::string_view::npos ? std::string_view::npos : sp - from);
    if (f.empty() || out.size() == most) return std::nullopt;
    out.push_back(f);
    if (sp == std::string_view::npos) return out;
    from = sp + 1;
  }
}

bool printable(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::optional<uint64_t> digits_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::optional<uint64_t> parse_u64(std::string_view s) { return digits_u64(s); }

std::optional<int64_t> parse_i64(std::string_view s) {
  const bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  const auto mag = digits_u64(s);
  if (!mag) return std::nullopt;
  // INT64_MIN's magnitude is one more than INT64_MAX's.
  if (neg) {
    if (*mag > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return *mag == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(*mag);
  }
  if (*mag > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(*mag);
}

ParseResult parse_request(std::string_view line) {
  ParseResult r;
  if (line.size() + 1 > kMaxLine || !printable(line)) return r;
  const auto f = fields_of(line, 5);
  if (!f || f->size() < 3 || (*f)[0] != kVersionTag) return r;
  const auto id = parse_u64((*f)[2]);
  if (!id) return r;
  const std::string_view verb = (*f)[1];
  Request q;
  q.id = *id;
  if (verb == "T" || verb == "I") {
    if (f->size() != 3) return r;
    q.verb = verb == "T" ? Verb::time : Verb::info;
  } else if (verb == "S") {
    if (f->size() < 4) return r;
    const auto ns = parse_i64((*f)[3]);
    if (!ns) return r;
    if (f->size() == 5) {
      if ((*f)[4] != "big") return r;
      q.big = true;
    }
    q.verb = Verb::step;
    q.step_ns = *ns;
  } else {
    // One upper-case letter or word: a verb this version does not know.
    for (char c : verb)
      if (c < 'A' || c > 'Z') return r;
    r.error = ParseError::unknown_verb;
    r.id = *id;
    return r;
  }
  r.request = q;
  return r;
}

std::string format_time_request(uint64_t id) { return std::string(kVersionTag) + " T " + std::to_string(id) + "\n"; }
std::string format_info_request(uint64_t id) { return std::string(kVersionTag) + " I " + std::to_string(id) + "\n"; }
std::string format_step_request(uint64_t id, int64_t step_ns, bool big) {
  return std::string(kVersionTag) + " S " + std::to_string(id) + " " + std::to_string(step_ns) + (big ? " big\n" : "\n");
}

std::optional<Reply> parse_reply(std::string_view line) {
  if (line.size() + 1 > kMaxLine || !printable(line)) return std::nullopt;
  if (line.substr(0, 5) != "MCC1 " || line.size() < 8 || line[6] != ' ') return std::nullopt;
  Reply r;
  r.verb = line[5];
  std::string_view rest = line.substr(7);
  const std::size_t sp = rest.find(' ');
  const auto id = parse_u64(rest.substr(0, sp));
  if (!id) return std::nullopt;
  r.id = *id;
  const std::string_view tail = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  switch (r.verb) {
    case 't': {
      const std::size_t s2 = tail.find(' ');
      if (s2 == std::string_view::npos) return std::nullopt;
      const auto sec = parse_i64(tail.substr(0, s2));
      const auto nsec = parse_i64(tail.substr(s2 + 1));
      if (!sec || !nsec || *nsec < 0 || *nsec >= 1'000'000'000) return std::nullopt;
      r.sec = *sec;
      r.nsec = *nsec;
      return r;
    }
    case 's': {
      if (tail.substr(0, 3) == "ok ") {
        const auto ns = parse_i64(tail.substr(3));
        if (!ns) return std::nullopt;
        r.ok = true;
        r.step_ns = *ns;
        return r;
      }
      if (tail.substr(0, 3) == "no ") {
        r.text = std::string(tail.substr(3));
        return r;
      }
      return std::nullopt;
    }
    case 'i':
    case 'e':
      r.text = std::string(tail);
      return r;
    default:
      return std::nullopt;
  }
}

std::optional<std::string> info_value(std::string_view text, std::string_view key) {
  std::size_t from = 0;
  while (from <= text.size()) {
    std::size_t sp = text.find(' ', from);
    if (sp == std::string_view::npos) sp = text.size();
    const std::string_view kv = text.substr(from, sp - from);
    if (kv.size() > key.size() && kv.substr(0, key.size()) == key && kv[key.size()] == '=')
      return std::string(kv.substr(key.size() + 1));
    from = sp + 1;
  }
  return std::nullopt;
}

}  // namespace migclock::guest
