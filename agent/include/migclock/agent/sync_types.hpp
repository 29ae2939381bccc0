// What one guest clock sync did, as the agent records and reports it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "migclock/agent/config.hpp"

namespace migclock::agent {

// What the sync's own final measurement can show (sync_verdict.hpp).
enum class SyncVerdict { none, verified, degraded };
inline const char* to_string(SyncVerdict v) {
  return v == SyncVerdict::verified ? "verified" : v == SyncVerdict::degraded ? "degraded" : "none";
}

// What asked for a sync: decides its target and whom it is reported to.
enum class SyncTrigger {
  migrated,            // RESUMED_MIGRATED: the destination of a live migration
  resumed,             // RESUMED_UNPAUSED after a pause on this host
  restored,            // STARTED_RESTORED / STARTED_FROM_SNAPSHOT: from an image
  on_request,          // the local API
  controller_command,  // a controller command (SyncCause::command_id)
};
const char* to_string(SyncTrigger);

struct SyncCause {
  SyncTrigger trigger = SyncTrigger::on_request;
  std::string text;        // for people and logs: "RESUMED_MIGRATED", "on request", …
  std::string command_id;  // controller_command only

  static SyncCause on_request() { return {SyncTrigger::on_request, "on request", {}}; }
  static SyncCause command(const std::string& id) {
    return {SyncTrigger::controller_command, "controller command " + id, id};
  }
};

struct SyncOutcome {
  std::string reason;  // SyncCause::text of what asked for it: "RESUMED_MIGRATED", …
  SyncPolicy policy = SyncPolicy::step;
  bool ok = false;
  bool cancelled = false;  // superseded by a newer event for the VM
  std::string message;     // the error, or a summary
  // Where the sync aimed (guest − host; clock_target.hpp), ± how sure that
  // target is, and where it came from. 0 / "host UTC" unless told.
  std::string target_mode = "domain_clock";
  int64_t target_offset_ns = 0;
  int64_t target_uncertainty_ns = 0;
  std::string target_source;
  // guest − host wall clock, median of the kept samples (raw, not relative
  // to the target: the residual is offset_after_ns − target_offset_ns).
  std::optional<int64_t> offset_before_ns;
  std::optional<int64_t> offset_after_ns;
  std::optional<int64_t> residual_ns() const {
    if (!offset_after_ns) return std::nullopt;
    return *offset_after_ns - target_offset_ns;
  }
  // ± on residual_ns(): the final measurement's bound and the target's own.
  int64_t uncertainty_ns() const { return asymmetry_bound_ns + target_uncertainty_ns; }
  int64_t spread_ns = 0;  // spread of the kept samples after
  int64_t rtt_ns = 0;     // round trip of the best sample after
  // The after-measurement's own uncertainty: the true offset lies within
  // ±asymmetry of it whatever the path asymmetry (min RTT / 2); the
  // statistical scatter of its median.
  int64_t asymmetry_bound_ns = 0;
  int64_t statistical_ns = 0;
  int64_t before_spread_ns = 0;
  int64_t before_rtt_ns = 0;
  int corrections = 0;    // guest-set-time calls made
  int64_t agent_wait_ns = 0;  // event → guest agent answering
  int64_t sync_ns = 0;        // guest agent answering → synced
  int64_t started_realtime_ns = 0;
  int64_t finished_realtime_ns = 0;
  SyncVerdict verdict = SyncVerdict::none;
  std::string verdict_reason;  // the residual and uncertainty it was judged on
  int64_t residual_threshold_ns = 0;  // the limits it was judged against
  int64_t uncertainty_limit_ns = 0;
  // The repair path: "companion" (guest/, org.migclock.clock.0) or
  // "qemu-ga"; and why the companion was not used, or what it reported.
  std::string channel;
  std::string channel_note;
};

}  // namespace migclock::agent
