#include "migclock/agent/sync_types.hpp"

namespace migclock::agent {

const char* to_string(SyncTrigger t) {
  switch (t) {
    case SyncTrigger::migrated: return "migrated";
    case SyncTrigger::resumed: return "resumed";
    case SyncTrigger::restored: return "restored";
    case SyncTrigger::on_request: return "on-request";
    case SyncTrigger::controller_command: return "controller-command";
  }
  return "unknown";
}

}  // namespace migclock::agent
