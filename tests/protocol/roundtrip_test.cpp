// Every message survives encode → decode → encode unchanged.
#include "protocol_samples.hpp"

namespace migclock::protocol::testing {
namespace {

TEST(ProtocolRoundTrip, HostMessages) {
  EXPECT_TRUE(round_trips(sample_registration()));
  HostRegistration with_invtsc = sample_registration();
  with_invtsc.invtsc = "yes";
  EXPECT_TRUE(round_trips(with_invtsc));
  HostRegistration no_vms = sample_registration();
  no_vms.vms.clear();
  EXPECT_TRUE(round_trips(no_vms));
  EXPECT_TRUE(round_trips(TimeRequest{1'700'000'000'000'000'000}));
  EXPECT_TRUE(round_trips(TimeReply{1, 2, 3}));
  EXPECT_TRUE(round_trips(sample_offset()));
}

TEST(ProtocolRoundTrip, MigrationMessages) {
  EXPECT_TRUE(round_trips(sample_announce()));
  MigrationAnnounce named = sample_announce();
  named.destination = "host-b";
  EXPECT_TRUE(round_trips(named));
  EXPECT_TRUE(round_trips(MigrationRef{"m-1", "live"}));
  EXPECT_TRUE(round_trips(MigrationRefPage{{{"m-1", "live"}, {"m-2", "save-restore"}}}));
  EXPECT_TRUE(round_trips(sample_sync_results()));
  SyncResults unmeasured = sample_sync_results();
  unmeasured.guest_offset_before_ns.reset();
  unmeasured.guest_offset_after_ns.reset();
  EXPECT_TRUE(round_trips(unmeasured));
  EXPECT_TRUE(round_trips(sample_verification()));
  Verification no_residual = sample_verification();
  no_residual.residual_ns.reset();
  EXPECT_TRUE(round_trips(no_residual));
  EXPECT_TRUE(round_trips(sample_event()));
  EXPECT_TRUE(round_trips(PhaseEvent{Phase::degraded, "host-b", 9, "sync failed: timed out", ""}));
  EXPECT_TRUE(round_trips(PhaseEvent{Phase::verified, "host-b", 9, "", results_json(sample_verification())}));
  EXPECT_TRUE(round_trips(sample_restore_inputs()));
}

TEST(ProtocolRoundTrip, EveryPhaseByName) {
  for (Phase p : kAllPhases) {
    EXPECT_EQ(phase_from(phase_name(p)), p) << phase_name(p);
    EXPECT_TRUE(round_trips(PhaseEvent{p, "h", 1, "why", ""})) << phase_name(p);
  }
}

TEST(ProtocolRoundTrip, CommandMessages) {
  EXPECT_TRUE(round_trips(sample_commands()));
  EXPECT_TRUE(round_trips(CommandBatch{}));
  EXPECT_TRUE(round_trips(sample_command_result()));
  EXPECT_TRUE(round_trips(CommandResult{false, "no domain 'x'", ""}));
}

TEST(ProtocolRoundTrip, LocalMessages) {
  EXPECT_TRUE(round_trips(sample_hook_event()));
  EXPECT_TRUE(round_trips(MigrateBeginRequest{"vm-one", "<domain/>"}));
  EXPECT_TRUE(round_trips(sample_migrate_begin_reply()));
  MigrateBeginReply unknown_source = sample_migrate_begin_reply();
  unknown_source.source_tsc_khz.reset();
  EXPECT_TRUE(round_trips(unknown_source));
  EXPECT_TRUE(round_trips(VmmSnapshotStored{"/var/lib/migclock/outbox/x.mcs"}));
  EXPECT_TRUE(round_trips(sample_vmm_restore_inputs()));
}

}  // namespace
}  // namespace migclock::protocol::testing
