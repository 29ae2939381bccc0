// Reads the domain XML libvirt writes to the hook's stdin, within bounds:
// a hook must neither buffer without limit (100 MB once took 1.27 GB RSS)
// nor wait forever for a writer that keeps stdin open.
#pragma once

#include <cstddef>
#include <string>

namespace migclock::hook {

inline constexpr std::size_t kMaxStdinBytes = 8u << 20;  // domain XML is kilobytes
inline constexpr int kStdinDeadlineMs = 500;             // libvirt writes it all at once, then closes

struct StdinRead {
  std::string data;       // what was read ("" when over the size limit)
  std::string problem;    // "" when stdin reached EOF within both bounds
};

// Reads fd until EOF, max_bytes or the deadline, whichever comes first.
StdinRead read_bounded(int fd, std::size_t max_bytes = kMaxStdinBytes, int deadline_ms = kStdinDeadlineMs);

}  // namespace migclock::hook
