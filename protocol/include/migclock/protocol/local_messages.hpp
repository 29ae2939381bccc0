// The agent's local API as its clients speak it (unix socket,
// agent/local_api.hpp): the libvirt hook (hooks/) and an owned VMM
// (tools/testvmm).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "migclock/protocol/limits.hpp"
#include "migclock/protocol/wire.hpp"

namespace migclock::protocol {

inline constexpr const char* kHookEventsPath = "/api/v1/hook/events";
inline constexpr const char* kMigrateBeginPath = "/api/v1/hook/migrate-begin";
inline constexpr const char* kVmmSnapshotsPath = "/api/v1/vmm/snapshots";
inline constexpr const char* kVmmRestoreInputsPath = "/api/v1/vmm/restore-inputs";  // ?vm=ID


// One libvirt hook call as the hook reports it (argv + what it read from
// the XML on stdin). POST kHookEventsPath; answered with HookEventRecorded.
struct HookEvent {
  std::string object = "qemu";
  std::string name;
  std::string op;
  std::string sub_op;
  std::string extra;
  std::string uuid;        // from the stdin XML, if any
  int64_t sent_at_ns = 0;  // hook's CLOCK_REALTIME when it sent
};
struct HookEventRecorded {};

// POST kMigrateBeginPath: the destination's domain XML before a migration.
struct MigrateBeginRequest {
  std::string name, xml;
};
// The TSC pin decision. The hook acts on `action` ("pin": use `xml`;
// "refuse": stop the migration with `message`; else leave the XML alone).
struct MigrateBeginReply {
  std::string action, message, warning, policy;
  int64_t host_tsc_khz = 0;
  std::optional<int64_t> source_tsc_khz;
  int64_t frequency_hz = 0;
  std::string xml;
};

// POST kVmmSnapshotsPath (the body is the snapshot's JSON): where the
// agent stored it.
struct VmmSnapshotStored {
  std::string stored;
};

// GET kVmmRestoreInputsPath?vm=ID.
struct VmmRestoreInputs {
  std::string snapshot_json;
  int64_t realtime_offset_ns = 0;  // destination realtime − source realtime
  int64_t uncertainty_ns = 0;      // -1: not measured
  std::string evidence;            // where the offset came from
};

// POST /api/v1/vms/{id}/sync.
struct SyncScheduled {};

void write(net::JsonWriter&, const HookEvent&);
void write(net::JsonWriter&, const HookEventRecorded&);
void write(net::JsonWriter&, const MigrateBeginRequest&);
void write(net::JsonWriter&, const MigrateBeginReply&);
void write(net::JsonWriter&, const VmmSnapshotStored&);
void write(net::JsonWriter&, const VmmRestoreInputs&);
void write(net::JsonWriter&, const SyncScheduled&);
std::optional<net::Problem> read(const rapidjson::Value&, HookEvent&);
std::optional<net::Problem> read(const rapidjson::Value&, MigrateBeginRequest&);
std::optional<net::Problem> read(const rapidjson::Value&, MigrateBeginReply&);
std::optional<net::Problem> read(const rapidjson::Value&, VmmSnapshotStored&);
std::optional<net::Problem> read(const rapidjson::Value&, VmmRestoreInputs&);

}  // namespace migclock::protocol
