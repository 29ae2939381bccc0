// The agent's choice of repair path: the guest companion (guest/,
// docs/guest-companion.md) whenever the domain has its channel and it
// answers, else the guest agent (qemu-ga). SyncRunner::run calls this first.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <libvirt/libvirt.h>

#include "migclock/agent_sync/clock_sync.hpp"
#include "migclock/agent_sync/companion_sync.hpp"
#include "migclock/agent_sync/sync_retry.hpp"
#include "migclock/common/time_source.hpp"

namespace migclock::agent {

struct CompanionAttempt {
  // Set when the companion answered: the sync's result, whatever it was.
  std::optional<Result<agent_sync::RetriedSync>> result;
  std::string note;  // why the companion was not used, or what it reported (info)
};

// How long to wait for the companion after the event: the guest runs the
// moment QEMU resumes it, so it answers within milliseconds when present;
// past this the agent falls back to qemu-ga.
inline constexpr std::chrono::milliseconds kCompanionAnswerWait{1500};

// `known_socket`: the channel's host end from the inventory; "" reads the
// live XML for it.
CompanionAttempt try_companion_sync(virDomainPtr dom, const std::string& known_socket,
                                    const agent_sync::SyncOptions& options,
                                    agent_sync::QemuMonitorChannel* monitor, const TimeSource& time,
                                    const agent_sync::CancelToken& cancel);

}  // namespace migclock::agent
