// Agent ↔ controller about migrations (docs/protocol.md §3): the
// announcement, the migration list as the agent reads it, phase events and
// the results they carry, and the destination's restore inputs. Snapshots
// themselves travel as bytes (kSnapshotContentType or JSON).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migclock/protocol/limits.hpp"
#include "migclock/protocol/phase.hpp"
#include "migclock/protocol/wire.hpp"

namespace migclock::protocol {

inline constexpr const char* kMigrationKinds = "live,save-restore,suspend-resume";

// POST /api/v1/migrations (idempotent per VM).
struct MigrationAnnounce {
  std::string vm_uuid, vm_name, source;
  std::string destination;  // "" = not known yet (agents do not name it)
  std::string kind = "live";
};

// What an agent reads of a migration record (the controller's answer to
// the announcement, and each item of GET /api/v1/migrations).
struct MigrationRef {
  std::string id;
  std::string kind;
};
// GET /api/v1/migrations: {"items": [...], "total", "next_offset"}; the
// agent reads the items' refs. The controller writes the page from its
// full records (controller/codec.hpp).
struct MigrationRefPage {
  std::vector<MigrationRef> items;
};

// Where a sync aimed the guest's clock (guest − host), ± how sure.
struct SyncTarget {
  std::string mode, source;
  int64_t offset_ns = 0, uncertainty_ns = 0;
};

// A destination sync's numbers, in the `results` of a phase event (absent
// offsets omitted) and of a command result (with the policy; absent offsets
// null: command_results_json).
struct SyncResults {
  std::optional<std::string> policy;
  std::optional<int64_t> guest_offset_before_ns, guest_offset_after_ns;
  int64_t sync_rtt_ns = 0, sync_spread_ns = 0;
  SyncTarget target;
};

// The verdict on a sync, as `results.verification` of the closing event.
struct Verification {
  std::string method, channel, verdict;
  std::optional<int64_t> residual_ns;  // relative to the target
  int64_t uncertainty_ns = 0, statistical_ns = 0, spread_ns = 0, rtt_ns = 0;
  int64_t residual_threshold_ns = 0, uncertainty_limit_ns = 0;
  std::string reason;
};

// POST /api/v1/migrations/{id}/events. `results_json`: "" or an object the
// controller merges into the record (see results_json() below).
struct PhaseEvent {
  Phase phase = Phase::announced;
  std::string host;
  int64_t at_ns = 0;
  std::string reason;
  std::string results_json;
};

// GET /api/v1/migrations/{id}/restore-inputs?destination=HOST.
// `snapshot_json`: the snapshot in its JSON form (serialization/).
struct RestoreInputs {
  std::string migration_id, source, destination;
  std::string snapshot_json;
  int64_t realtime_offset_ns = 0;  // destination realtime − source realtime
  int64_t uncertainty_ns = 0;
  int64_t measured_at_ns = 0;
};

void write(net::JsonWriter&, const MigrationAnnounce&);
void write(net::JsonWriter&, const MigrationRef&);
void write(net::JsonWriter&, const MigrationRefPage&);
void write(net::JsonWriter&, const SyncTarget&);
void write(net::JsonWriter&, const SyncResults&);  // phase-event form
void write(net::JsonWriter&, const Verification&);
void write(net::JsonWriter&, const PhaseEvent&);
void write(net::JsonWriter&, const RestoreInputs&);
std::optional<net::Problem> read(const rapidjson::Value&, MigrationAnnounce&);
std::optional<net::Problem> read(const rapidjson::Value&, MigrationRef&);
std::optional<net::Problem> read(const rapidjson::Value&, MigrationRefPage&);
std::optional<net::Problem> read(const rapidjson::Value&, SyncResults&);
std::optional<net::Problem> read(const rapidjson::Value&, Verification&);
std::optional<net::Problem> read(const rapidjson::Value&, PhaseEvent&);
std::optional<net::Problem> read(const rapidjson::Value&, RestoreInputs&);

// The `results` objects the agent sends.
std::string results_json(const SyncResults&);           // a sync's numbers
std::string command_results_json(const SyncResults&);   // ... as a command result has them
std::string results_json(const Verification&);          // {"verification": {...}}
std::string restore_note_json(const std::string& how);  // {"restore": how}

// Known results fields must have their documented types (docs/protocol.md
// §3); unknown ones pass (the controller merges what it does not know).
std::optional<net::Problem> check_results(const rapidjson::Value& results);

}  // namespace migclock::protocol
