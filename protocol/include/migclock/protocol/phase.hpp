// Migration phases in protocol order (docs/protocol.md §3) and their wire
// names. failed and degraded are terminal alternatives, verified the
// successful end. The controller's records and the agent's phase events
// both use these.
#pragma once

#include <optional>
#include <string>

namespace migclock::protocol {

enum class Phase {
  announced,
  source_captured,
  shipped,
  destination_restored,
  resumed,
  synced,
  verified,
  failed,
  degraded,
};
inline constexpr Phase kAllPhases[] = {Phase::announced, Phase::source_captured, Phase::shipped,
                                       Phase::destination_restored, Phase::resumed, Phase::synced,
                                       Phase::verified, Phase::failed, Phase::degraded};

const char* phase_name(Phase);                       // "source-captured"
std::optional<Phase> phase_from(const std::string&);  // nullopt if unknown
bool is_terminal(Phase);                              // verified, failed, degraded
int phase_rank(Phase);                                // order of the forward chain

}  // namespace migclock::protocol
