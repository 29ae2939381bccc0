// Source-side capture of a libvirt/QEMU domain into a snapshot, by
// observation only: KVM debugfs per-vCPU TSC state of the QEMU process, the
// host facts, masterclock state (derived, and marked so), the RTC `date`
// through QMP qom-get, and the guest's own time through its agent.
#pragma once

#include <string>

#include "migclock/agent/host_profile.hpp"
#include "migclock/agent_sync/guest_agent_channel.hpp"
#include "migclock/agent/libvirt_handles.hpp"
#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::agent {

struct CaptureOptions {
  std::string kvm_debugfs = "/sys/kernel/debug/kvm";
  std::string proc_root = "/proc";
  std::string tracefs = "/sys/kernel/tracing";  // read only (masterclock_trace.hpp)
  bool guest_agent_connected = false;  // ask guest-get-time
  int guest_agent_timeout_ms = 2000;
};

// What the capture could and could not read, for the log and the API.
struct CaptureReport {
  snapshot::Snapshot snapshot;
  int qemu_pid = 0;  // 0: not found
  std::vector<std::string> debugfs_dirs;
  std::vector<std::string> notes;  // e.g. "no KVM debugfs dir (TCG guest)"
};

Result<CaptureReport> capture_domain(const ConnHandle& conn, const std::string& uuid, const HostProfile& host,
                                     const TimeSource& time, const CaptureOptions& opts);

// QMP `qom-get /machine rtc-time` (the PC machine's alias of the
// mc146818rtc `date` property) → seconds since the epoch.
Result<int64_t> read_rtc_date(agent_sync::QemuMonitorChannel& monitor);

}  // namespace migclock::agent
