// The controller's records: plain structs, serialized to JSON (codec.hpp)
// both for the API and for the journal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migclock/protocol/phase.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::controller {

// Migration phases: the protocol's (protocol/phase.hpp), one set of names.
using protocol::Phase;
using protocol::kAllPhases;
using protocol::phase_name;
using protocol::phase_from;
using protocol::is_terminal;
using protocol::phase_rank;

enum class Scope { read, write, agent };
const char* scope_name(Scope);
std::optional<Scope> scope_from(const std::string&);

struct ClockOffset {
  int64_t offset_ns = 0;       // θ = controller clock − host clock
  int64_t uncertainty_ns = 0;
  int64_t rtt_ns = 0;
  int64_t samples = 0;
  int64_t measured_at_ns = 0;  // agent clock, as reported
  int64_t received_ns = 0;     // controller clock
};

struct VmRef {
  std::string uuid;
  std::string name;
  std::string state;
};

struct Host {
  std::string hostname;
  std::string boot_id;
  std::string agent_version;
  uint32_t tsc_khz = 0;
  bool scaling_supported = false;
  std::string clocksource;
  std::string offset_honoured = "unknown";  // yes | no | unknown
  bool masterclock_possible = false;
  std::string invtsc = "unknown";           // yes | no | unknown (optional in registration)
  // Where tsc_khz came from (snapshot::TscKhzSource names; optional in
  // registration) and whether the host has KVM (present | absent | unrecorded).
  std::string tsc_khz_source = "unrecorded";
  std::string kvm = "unrecorded";
  int64_t registered_ns = 0;
  int64_t last_seen_ns = 0;
  std::optional<ClockOffset> offset;        // latest measurement
};

struct Vm {
  std::string uuid;
  std::string name;
  std::string state;
  std::string host;  // current host, "" when no agent reports it
  int64_t updated_ns = 0;
};

struct PhaseEvent {
  Phase phase = Phase::announced;
  std::string host;
  int64_t at_ns = 0;        // reporter's clock
  int64_t received_ns = 0;  // controller's clock
  std::string reason;
};

struct SnapshotInfo {
  serialization::Format format = serialization::Format::binary;  // as uploaded
  std::string sha256;   // of the bytes as uploaded
  int64_t bytes = 0;
  int64_t stored_ns = 0;
};

struct Migration {
  std::string id;
  std::string vm_uuid;
  std::string vm_name;
  std::string source;
  std::string destination;
  std::string kind;         // live | save-restore | suspend-resume
  std::string created_by;   // agent | operator
  Phase phase = Phase::announced;
  std::string reason;       // for failed/degraded
  int64_t created_ns = 0;
  int64_t updated_ns = 0;   // last phase change (phase timeouts count from here)
  int64_t version = 1;      // bumps on every change (watchers wait for it)
  std::vector<PhaseEvent> history;
  std::string results_json = "{}";  // merged results object
  std::optional<SnapshotInfo> snapshot;
};

struct Command {
  std::string id;
  std::string host;
  std::string kind = "sync";
  std::string vm_uuid;
  std::string vm_name;
  std::string state = "queued";  // queued | delivered | done | failed
  int64_t created_ns = 0;
  int64_t delivered_ns = 0;
  int64_t finished_ns = 0;
  std::string message;
  std::string results_json = "{}";
};

struct Token {
  std::string hash;  // SHA-256 hex of the secret
  Scope scope = Scope::read;
  int64_t created_ns = 0;
  std::string label;
  // Agent tokens act for this host only ("" = a legacy agent token from
  // before host binding: bound to its first heartbeat's host, see
  // docs/controller.md; always "" for read/write).
  std::string host;
};

}  // namespace migclock::controller
