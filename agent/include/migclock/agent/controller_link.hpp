// The agent's side of docs/protocol.md: every connection is opened by the
// agent (HTTPS, bearer token of scope `agent`). Registration/heartbeat,
// handing over source snapshots, and reporting sync results on the
// destination. Synchronous (net::Client); the Agent's shipper thread calls
// it, never an event or API thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "migclock/agent/host_profile.hpp"
#include "migclock/agent/inventory.hpp"
#include "migclock/agent/outbox.hpp"
#include "migclock/agent/sync_types.hpp"
#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/protocol/command_messages.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::net {
class Client;
}

namespace migclock::agent {

struct ControllerSettings {
  std::string url;         // https://controller:8443 (or unix:/path, http:// loopback for tests)
  std::string token;       // bearer token, scope agent
  std::string ca_file;
  std::string hostname;    // this host's name in the registry
};

// A command the controller queued for this host (protocol §4).
using ControllerCommand = protocol::CommandDelivery;

// GET /api/v1/migrations/{id}/restore-inputs (protocol §3): an owned VMM's
// snapshot as the source shipped it, and this host's realtime minus the
// source's as the controller measured it.
struct ControllerRestoreInputs {
  std::string migration_id, source;
  snapshot::Snapshot snapshot;
  int64_t realtime_offset_ns = 0;
  int64_t uncertainty_ns = 0;
  int64_t measured_at_ns = 0;
};

// One ControllerLink per thread: net::Client is not thread-safe.
class ControllerLink {
 public:
  explicit ControllerLink(ControllerSettings s);
  ~ControllerLink();

  // PUT /api/v1/hosts/{hostname}.
  Status register_host(const HostProfile& host, const std::vector<DomainRecord>& vms);
  // Protocol §2: `samples` NTP-style exchanges with POST /api/v1/time, the
  // lowest-RTT one reported to POST /api/v1/hosts/{hostname}/clock-offset.
  // Returns θ = controller clock − this host's clock.
  Result<int64_t> measure_clock_offset(const TimeSource& time, int samples = 8);
  // POST /api/v1/migrations (idempotent per VM), then PUT its snapshot.
  // Returns the migration id.
  Result<std::string> ship(const OutboxItem& item, const snapshot::Snapshot& s);
  // Long poll for commands (waits up to wait_s on the controller).
  Result<std::vector<ControllerCommand>> poll_commands(int wait_s);
  Status report_command(const std::string& id, bool ok, const std::string& message, const SyncOutcome* outcome);
  // Destination: find the VM's active migration and report the sync
  // (phase synced, or degraded with the reason when it failed).
  // `wait_for_snapshot`: when the source's snapshot is not at the
  // controller yet, fail with errc::unavailable (retry later) rather than
  // close the migration without its hand-off (the source ships in parallel;
  // closing first left records without source-captured and shipped).
  Status report_sync(const std::string& uuid, const std::string& name, const SyncOutcome& o, int64_t now_ns,
                     bool wait_for_snapshot = false);
  // Destination of an owned VMM: the VM's active migration's restore inputs.
  Result<ControllerRestoreInputs> restore_inputs(const std::string& vm_id);

 private:
  // The id of the VM's newest non-terminal migration of `kind` ("live", ...;
  // empty: any); not_found if none.
  Result<std::string> active_migration(const std::string& uuid, const std::string& name, const std::string& kind);
  Result<std::string> request_ok(const std::string& method, const std::string& target, const std::string& body,
                                 const std::string& content_type = protocol::kJsonContentType);
  ControllerSettings s_;
  std::unique_ptr<net::Client> client_;
};

// Reads a token file (first line, trimmed); errors name the file.
Result<std::string> read_token_file(const std::string& path);

}  // namespace migclock::agent
