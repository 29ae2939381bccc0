// migclock-timereport: what is left of a guest's wall-clock error after an
// event (3 s suspend/resume, live migration between two libvirt daemons),
// repaired by migclock's sync and by its peers, measured NTP-style through
// the guest agent. Shared declarations of the report's three files.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "migclock/agent_sync/clock_sync.hpp"

namespace migclock::timereport {

struct Config {
  std::string sandbox_root;  // empty: /tmp/mctr-<pid>
  std::string domain = "timereport";
  int repeats = 3;
  int suspend_seconds = 3;
  int migration_port = 49400;
  bool run_suspend = true;
  bool run_migrate = true;
  bool keep_sandbox = false;
  bool json_only = false;
  std::optional<int> nice;  // renice the sandbox (daemons, QEMU) and this process
};

// How the guest's clock was repaired after the event.
enum class Arm { migclock, domtime_sync, guest_set_time_host };
const char* to_string(Arm a);

struct Run {
  agent_sync::OffsetEstimate before;        // just before the event
  agent_sync::OffsetEstimate after_event;   // after the event, nothing repaired yet
  std::vector<agent_sync::OffsetEstimate> after_repair;  // one per repair call
  int64_t connected_to_synced_ns = 0;       // migclock arm: agent answered -> last step verified
  int64_t connected_to_set_ns = 0;          // migclock arm: agent answered -> first step applied (send + delay)
  int attempts = 0;                         // migclock arm: sync attempts until the agent answered
  std::string sync_report_json;             // migclock arm: the full SyncReport
  std::string error;                        // a repair that failed (the run still measures what is left)
};

struct Series {
  std::string event;  // "suspend_3s" | "migration"
  Arm arm;
  std::vector<Run> runs;
};

// Runs every configured event x arm, `repeats` times each, in one sandbox.
// Throws std::runtime_error on an environment failure (the edge: main).
std::vector<Series> run_all(const Config& cfg);

std::string to_json(const Config& cfg, const std::vector<Series>& all);
std::string to_table(const std::vector<Series>& all);

}  // namespace migclock::timereport
