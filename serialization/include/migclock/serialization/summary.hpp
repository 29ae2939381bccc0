// A human summary of a snapshot (what `migclock snapshot inspect` prints).
#pragma once

#include <string>

#include "migclock/snapshot/snapshot.hpp"

namespace migclock::serialization {

// Multi-line text, one fact per line, units in every label.
std::string describe(const snapshot::Snapshot&);

}  // namespace migclock::serialization
