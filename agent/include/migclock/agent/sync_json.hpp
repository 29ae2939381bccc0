// A sync outcome as JSON (the API's `last_sync`).
#pragma once

#include "migclock/agent/sync_types.hpp"
#include "migclock/net/json.hpp"
#include "migclock/protocol/migration_messages.hpp"

namespace migclock::agent {

// Where the sync aimed, as the protocol carries it (local API and controller).
inline protocol::SyncTarget target_of(const SyncOutcome& o) {
  return protocol::SyncTarget{o.target_mode, o.target_source, o.target_offset_ns, o.target_uncertainty_ns};
}

void write_sync(net::JsonWriter& j, const SyncOutcome& o);

}  // namespace migclock::agent
