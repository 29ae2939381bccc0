// JSON for offset estimates and sync reports (records, the report CLI).
// All times in ns; offsets are guest minus host. Written with the tree's one
// writer (common/json_writer.hpp).
#pragma once

#include <string>

#include "migclock/agent_sync/clock_sync.hpp"
#include "migclock/common/json_writer.hpp"

namespace migclock::agent_sync {

void write_json(JsonWriter& w, const OffsetEstimate& e);
void write_json(JsonWriter& w, const SyncReport& r);

std::string to_json(const OffsetEstimate& e);
std::string to_json(const SyncReport& r);

}  // namespace migclock::agent_sync
