// Agent → controller about the host itself (docs/protocol.md §1, §2):
// registration/heartbeat, the NTP-style time exchange and the clock
// offset it measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migclock/protocol/limits.hpp"
#include "migclock/protocol/wire.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::protocol {

// A VM as the heartbeat lists it.
struct VmEntry {
  std::string uuid, name, state;
};

// PUT /api/v1/hosts/{hostname}.
struct HostRegistration {
  std::string hostname, boot_id, agent_version;
  uint32_t tsc_khz = 0;
  bool scaling_supported = false;
  std::string clocksource;
  snapshot::OffsetHonoured offset_honoured = snapshot::OffsetHonoured::unknown;
  snapshot::TscKhzSource tsc_khz_source = snapshot::TscKhzSource::unrecorded;
  snapshot::KvmPresence kvm = snapshot::KvmPresence::unrecorded;
  bool masterclock_possible = false;
  std::optional<std::string> invtsc;  // yes | no | unknown; agents do not send it yet
  std::vector<VmEntry> vms;
};

// POST /api/v1/time: t1 the agent's send time; the answer echoes it with
// the controller's receive (t2) and send (t3) times.
struct TimeRequest {
  int64_t t1_ns = 0;
};
struct TimeReply {
  int64_t t1_ns = 0, t2_ns = 0, t3_ns = 0;
};

// POST /api/v1/hosts/{hostname}/clock-offset: θ = controller − host.
struct ClockOffsetReport {
  int64_t offset_ns = 0, uncertainty_ns = 0, rtt_ns = 0;
  int64_t samples = 0;
  int64_t measured_at_ns = 0;
};

void write(net::JsonWriter&, const HostRegistration&);
void write(net::JsonWriter&, const TimeRequest&);
void write(net::JsonWriter&, const TimeReply&);
void write(net::JsonWriter&, const ClockOffsetReport&);
std::optional<net::Problem> read(const rapidjson::Value&, HostRegistration&);
std::optional<net::Problem> read(const rapidjson::Value&, TimeRequest&);
std::optional<net::Problem> read(const rapidjson::Value&, TimeReply&);
std::optional<net::Problem> read(const rapidjson::Value&, ClockOffsetReport&);

}  // namespace migclock::protocol
