// A sync outcome as JSON (the API's `last_sync`).
#pragma once

#include "migclock/agent/sync_types.hpp"
#include "migclock/net/json.hpp"

namespace migclock::agent {

void write_sync(net::JsonWriter& j, const SyncOutcome& o);

}  // namespace migclock::agent
