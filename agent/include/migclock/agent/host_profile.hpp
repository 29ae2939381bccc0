// What the agent knows about its own host: identity, TSC rate, scaling,
// clocksource, whether KVM honours TSC offsets. Probed once at start and on
// SIGHUP through kvm/ (probe_host), never guessed.
#pragma once

#include <string>

#include "migclock/snapshot/snapshot.hpp"

namespace migclock::agent {

struct HostProfile {
  snapshot::HostFacts facts;
  bool masterclock_possible = false;
  std::string probe_error;  // non-empty: /dev/kvm could not be probed; facts partial
};

// `hostname_override`: the configured hostname, if any.
HostProfile probe_host_profile(const std::string& hostname_override);

}  // namespace migclock::agent
