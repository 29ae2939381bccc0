#include "migclock/controller/model.hpp"

namespace migclock::controller {

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

const char* scope_name(Scope s) {
  switch (s) {
    case Scope::read: return "read";
    case Scope::write: return "write";
    case Scope::agent: return "agent";
  }
  return "unknown";
}

std::optional<Scope> scope_from(const std::string& s) {
  for (Scope x : {Scope::read, Scope::write, Scope::agent})
    if (s == scope_name(x)) return x;
  return std::nullopt;
}

}  // namespace migclock::controller
