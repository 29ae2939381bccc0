// The owned-VMM side of the agent's local API (docs/agent.md): a VMM that
// embeds kvm/ hands its snapshot to the local migclock-agent on the source,
// and on the destination asks it for the restore inputs (the snapshot plus
// the controller's measured realtime offset between the two hosts).
#pragma once

#include <string>

#include "migclock/common/result.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::testvmm {

// POST /api/v1/vmm/snapshots; returns where the agent stored it.
Result<std::string> post_snapshot(const std::string& socket, const snapshot::Snapshot& snap);

struct RestoreInputs {
  snapshot::Snapshot snapshot;
  int64_t realtime_offset_ns = 0;  // destination realtime − source realtime
  int64_t uncertainty_ns = 0;      // -1: not measured
  std::string evidence;            // where the offset came from
};

// GET /api/v1/vmm/restore-inputs?vm=ID. The snapshot is validated as if it
// were read from a file.
Result<RestoreInputs> fetch_restore_inputs(const std::string& socket, const std::string& vm);

}  // namespace migclock::testvmm
