// JSON for offset estimates and sync reports (records, the report CLI).
// All times in ns; offsets are guest minus host.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "migclock/agent_sync/clock_sync.hpp"

namespace migclock::agent_sync {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_json(JsonWriter& w, const OffsetEstimate& e);
void write_json(JsonWriter& w, const SyncReport& r);

std::string to_json(const OffsetEstimate& e);
std::string to_json(const SyncReport& r);

}  // namespace migclock::agent_sync
