#include "migclock/guest/companion.hpp"

#include <cerrno>
#include <cstring>

namespace migclock::guest {

void LineAssembler::feed(const char* data, std::size_t n, const std::function<void(std::string_view)>& line) {
  for (std::size_t i = 0; i < n; ++i) {
    const char c = data[i];
    if (discarding_) {
      if (c == '\n') discarding_ = false;
      continue;
    }
    if (c == '\n') {
      line(std::string_view(buf_, have_));
      have_ = 0;
      continue;
    }
    if (have_ + 1 >= kMaxLine) {  // no room for this byte and the '\n'
      ++overlong_;
      have_ = 0;
      discarding_ = true;
      continue;
    }
    buf_[have_++] = c;
  }
}

void LineAssembler::reset() {
  if (have_ > 0 || discarding_) ++partial_dropped_;
  have_ = 0;
  discarding_ = false;
}

std::string Companion::feed(const char* data, std::size_t n) {
  std::string out;
  assembler_.feed(data, n, [&](std::string_view l) {
    out += on_line(l);
    after_reply();
  });
  return out;
}

std::string Companion::on_line(std::string_view line) {
  ++counters_.lines;
  const ParseResult p = parse_request(line);
  if (!p.request) {
    if (p.error == ParseError::unknown_verb) {
      ++counters_.unknown;
      return std::string(kVersionTag) + " e " + std::to_string(p.id) + " unknown\n";
    }
    ++counters_.malformed;
    return {};
  }
  const Request& q = *p.request;
  switch (q.verb) {
    case Verb::time: {
      ++counters_.time_queries;
      // Everything but the numbers first: the clock is read as late as
      // possible, so the time is as close as it can be to the moment the
      // reply leaves.
      std::string out = std::string(kVersionTag) + " t " + std::to_string(q.id) + " ";
      out.reserve(out.size() + 32);
      int64_t sec = 0, nsec = 0;
      sys_.realtime(sec, nsec);
      out += std::to_string(sec);
      out += ' ';
      out += std::to_string(nsec);
      out += '\n';
      return out;
    }
    case Verb::step:
      return step(q);
    case Verb::info:
      return info(q.id);
  }
  return {};
}

std::string Companion::step(const Request& q) {
  const std::string head = std::string(kVersionTag) + " s " + std::to_string(q.id) + " ";
  auto refuse = [&](const char* why) {
    ++counters_.steps_refused;
    return head + "no " + why + "\n";
  };
  // The bound guards against a garbled number in an otherwise valid line: a
  // step above it needs the explicit "big" as well.
  const uint64_t mag = q.step_ns < 0 ? 0 - static_cast<uint64_t>(q.step_ns) : static_cast<uint64_t>(q.step_ns);
  if (!q.big && mag > static_cast<uint64_t>(options_.max_step_ns)) return refuse("too-big");
  if (options_.dry_run) return refuse("dry-run");
  if (q.step_ns == 0) {  // nothing to do, and no reason to disturb the clock's state
    ++counters_.steps_applied;
    return head + "ok 0\n";
  }
  const int err = sys_.step(q.step_ns);
  if (err != 0) {
    std::string why = "errno-";
    why += std::to_string(err);
    return refuse(why.c_str());
  }
  ++counters_.steps_applied;
  nudge_pending_ = options_.nudge;
  return head + "ok " + std::to_string(q.step_ns) + "\n";
}

std::string Companion::info(uint64_t id) {
  std::string cs = sys_.clocksource();
  for (char& c : cs)
    if (c <= 0x20 || c > 0x7e || c == '=') c = '_';  // keep the reply one well-formed line
  if (cs.empty()) cs = "unknown";
  if (cs.size() > 24) cs.resize(24);
  const bool chronyd = sys_.process_running("chronyd");
  const bool ntpd = sys_.process_running("ntpd");
  std::string out = std::string(kVersionTag) + " i " + std::to_string(id) + " v=1 cs=" + cs +
                    " chronyd=" + (chronyd ? "1" : "0") + " ntpd=" + (ntpd ? "1" : "0") +
                    " bad=" + std::to_string(counters_.malformed + assembler_.overlong()) +
                    " steps=" + std::to_string(counters_.steps_applied) + " nudge=" + last_nudge_;
  if (out.size() + 1 > kMaxLine) out.resize(kMaxLine - 1);
  return out + "\n";
}

void Companion::after_reply() {
  if (!nudge_pending_) return;
  nudge_pending_ = false;
  last_nudge_ = sys_.nudge_after_step();
}

}  // namespace migclock::guest
