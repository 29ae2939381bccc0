#include "migclock/controller/model.hpp"

namespace migclock::controller {

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
