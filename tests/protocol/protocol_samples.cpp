#include "protocol_samples.hpp"

#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::protocol::testing {

HostRegistration sample_registration() {
  HostRegistration h;
  h.hostname = "host-a";
  h.boot_id = "0f6c1c52-boot";
  h.agent_version = "0.1.0";
  h.tsc_khz = 2'400'000;
  h.scaling_supported = true;
  h.clocksource = "tsc";
  h.offset_honoured = snapshot::OffsetHonoured::yes;
  h.tsc_khz_source = snapshot::TscKhzSource::libvirt_capabilities;
  h.kvm = snapshot::KvmPresence::present;
  h.masterclock_possible = true;
  h.vms = {{"uuid-1", "vm-one", "running"}, {"uuid-2", "vm-two", "paused"}};
  return h;
}

ClockOffsetReport sample_offset() { return ClockOffsetReport{-12'345, 678, 1'356, 8, 1'700'000'000'000'000'000}; }

MigrationAnnounce sample_announce() {
  MigrationAnnounce a;
  a.vm_uuid = "uuid-1";
  a.vm_name = "vm-one";
  a.source = "host-a";
  a.kind = "suspend-resume";
  return a;
}

SyncResults sample_sync_results() {
  SyncResults r;
  r.guest_offset_before_ns = -2'000'000'000;
  r.guest_offset_after_ns = 1'234;
  r.sync_rtt_ns = 456'000;
  r.sync_spread_ns = 7'890;
  r.target = SyncTarget{"continuity", "source snapshot + controller offset", 3'600'000'000'000, 25'000};
  return r;
}

Verification sample_verification() {
  Verification v;
  v.method = "guest-get-time NTP-style, lowest-RTT samples (the correcting channel)";
  v.channel = "qemu-ga";
  v.verdict = "degraded";
  v.residual_ns = -3'456;
  v.uncertainty_ns = 120'000;
  v.statistical_ns = 5'000;
  v.spread_ns = 7'890;
  v.rtt_ns = 456'000;
  v.residual_threshold_ns = 1'000'000;
  v.uncertainty_limit_ns = 100'000;
  v.reason = "uncertainty 120000 ns over the limit 100000 ns";
  return v;
}

PhaseEvent sample_event() {
  return PhaseEvent{Phase::synced, "host-b", 1'700'000'000'123'456'789, "", results_json(sample_sync_results())};
}

RestoreInputs sample_restore_inputs() {
  auto json = serialization::encode(serialization::testing::sample_snapshot(2), serialization::Format::json);
  // Compact, as a decoder re-serializes it: round trips compare bytes.
  auto doc = net::parse_object(json.value(), kMaxDepthWithSnapshot);
  return RestoreInputs{"m-1", "host-a", "host-b", net::to_string(*doc), 5'000, 700, 1'700'000'000'000'000'000};
}

CommandBatch sample_commands() { return {{"c-1", kCommandSync, "uuid-1", "vm-one"}, {"c-2", kCommandSync, "uuid-2", ""}}; }

CommandResult sample_command_result() {
  SyncResults r = sample_sync_results();
  r.policy = "step";
  r.guest_offset_before_ns.reset();
  return CommandResult{true, "synced (via qemu-ga)", command_results_json(r)};
}

HookEvent sample_hook_event() {
  return HookEvent{"qemu", "vm-one", "migrate", "begin", "-", "uuid-1", 1'700'000'000'000'000'001};
}

MigrateBeginReply sample_migrate_begin_reply() {
  MigrateBeginReply r;
  r.action = "pin";
  r.message = "pinned the guest TSC to 2400000 kHz";
  r.warning = "no TSC scaling";
  r.policy = "strict";
  r.host_tsc_khz = 2'400'000;
  r.source_tsc_khz = 2'400'100;
  r.frequency_hz = 2'400'100'000;
  r.xml = "<domain><clock offset='utc'><timer name='tsc' frequency='2400100000'/></clock></domain>";
  return r;
}

VmmRestoreInputs sample_vmm_restore_inputs() {
  const RestoreInputs in = sample_restore_inputs();
  return VmmRestoreInputs{in.snapshot_json, in.realtime_offset_ns, in.uncertainty_ns, "controller"};
}

}  // namespace migclock::protocol::testing
