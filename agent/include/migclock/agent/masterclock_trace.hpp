// The masterclock state of a foreign (QEMU) VM from KVM's tracefs event
// kvm_update_master_clock ("masterclock %d hostclock %s offsetmatched %u"),
// which KVM emits each time it re-decides the masterclock. The event names
// no VM, only the thread that triggered it, so lines are attributed to a VM
// through its QEMU's thread ids (/proc/<pid>/task). The agent never turns
// tracing on (a system-wide switch); it reads the event only where an
// operator enabled it, and otherwise the snapshot says "derived".
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::agent {

struct MasterclockTrace {
  bool masterclock = false;     // use_master_clock of the newest matching event
  bool offset_matched = false;
  std::string host_clock;       // "tsc", "none", ...
  pid_t tid = 0;                // the thread the event came from
};

// The newest kvm_update_master_clock line of one of `tids` in trace text
// (ftrace's "comm-tid [cpu] flags ts: event: fields" lines).
std::optional<MasterclockTrace> parse_masterclock_trace(const std::string& trace_text, const std::set<pid_t>& tids);

// The thread ids of process `pid` under `proc_root`.
std::set<pid_t> thread_ids(pid_t pid, const std::string& proc_root = "/proc");

// Reads `<tracefs>/trace` if the event is enabled. not_supported when it is
// not enabled (or tracefs is not mounted), not_found when no line of `tids`
// is in the buffer.
Result<MasterclockTrace> read_masterclock_trace(const std::string& tracefs, const std::set<pid_t>& tids);

}  // namespace migclock::agent
