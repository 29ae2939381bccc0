#include "bounded_stdin.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace migclock::hook {

StdinRead read_bounded(int fd, std::size_t max_bytes, int deadline_ms) {
  StdinRead r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.problem = "stdin still open after " + std::to_string(deadline_ms) + " ms; going on with " +
                  std::to_string(r.data.size()) + " bytes";
      return r;
    }
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;  // the deadline check above ends it
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return r;  // EOF (or an error: nothing more to read)
    if (r.data.size() + static_cast<std::size_t>(got) > max_bytes) {
      r.problem = "stdin over " + std::to_string(max_bytes) + " bytes; domain XML ignored";
      r.data.clear();
      return r;
    }
    r.data.append(buf, static_cast<std::size_t>(got));
  }
}

}  // namespace migclock::hook
