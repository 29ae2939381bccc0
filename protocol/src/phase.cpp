#include "migclock/protocol/phase.hpp"

namespace migclock::protocol {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::announced: return "announced";
    case Phase::source_captured: return "source-captured";
    case Phase::shipped: return "shipped";
    case Phase::destination_restored: return "destination-restored";
    case Phase::resumed: return "resumed";
    case Phase::synced: return "synced";
    case Phase::verified: return "verified";
    case Phase::failed: return "failed";
    case Phase::degraded: return "degraded";
  }
  return "unknown";
}

std::optional<Phase> phase_from(const std::string& s) {
  for (Phase p : kAllPhases)
    if (s == phase_name(p)) return p;
  return std::nullopt;
}

bool is_terminal(Phase p) { return p == Phase::verified || p == Phase::failed || p == Phase::degraded; }

int phase_rank(Phase p) { return static_cast<int>(p); }

}  // namespace migclock::protocol
