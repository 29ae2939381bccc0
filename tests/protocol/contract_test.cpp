// Each side's encoder against the other side's decoder where the two are
// not the same message: the controller answers with its full records
// (controller/codec.hpp), agents read the part they need; older agents
// leave out fields newer controllers know.
#include "migclock/controller/codec.hpp"
#include "migclock/serialization/enum_names.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "protocol_samples.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::protocol::testing {
namespace {

controller::Migration sample_record() {
  controller::Migration m;
  m.id = "m-42";
  m.vm_uuid = "uuid-1";
  m.vm_name = "vm-one";
  m.source = "host-a";
  m.kind = "save-restore";
  m.created_by = "agent";
  m.phase = Phase::synced;
  m.history.push_back({Phase::announced, "host-a", 1, 2, ""});
  m.results_json = results_json(sample_verification());
  m.snapshot = controller::SnapshotInfo{serialization::Format::binary, "ab12", 4096, 7};
  return m;
}

TEST(ProtocolContract, AgentReadsTheControllersMigrationRecord) {
  auto ref = decode<MigrationRef>(controller::to_json(sample_record()));
  ASSERT_TRUE(ref.ok()) << ref.problem().message;
  EXPECT_EQ(ref->id, "m-42");
  EXPECT_EQ(ref->kind, "save-restore");
}

TEST(ProtocolContract, AgentReadsTheControllersMigrationPage) {
  net::JsonWriter w;
  w.begin_object().key("items").begin_array();
  controller::write(w, sample_record());
  controller::Migration live = sample_record();
  live.id = "m-43";
  live.kind = "live";
  controller::write(w, live);
  w.end_array().key("total").value(2).key("next_offset").null().end_object();
  auto page = decode<MigrationRefPage>(w.str(), kMaxDepthWithSnapshot);
  ASSERT_TRUE(page.ok()) << page.problem().message;
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[1].id, "m-43");
  EXPECT_EQ(page->items[1].kind, "live");
}

TEST(ProtocolContract, ControllerStoresWhatTheAgentRegisters) {
  // The controller keeps the enum fields as the snapshot's names.
  auto reg = decode<HostRegistration>(encode(sample_registration()));
  ASSERT_TRUE(reg.ok()) << reg.problem().message;
  EXPECT_EQ(serialization::enum_label(reg->offset_honoured), "yes");
  EXPECT_EQ(serialization::enum_label(reg->tsc_khz_source), "libvirt_capabilities");
  EXPECT_EQ(serialization::enum_label(reg->kvm), "present");
  EXPECT_FALSE(reg->invtsc.has_value());
  ASSERT_EQ(reg->vms.size(), 2u);
  EXPECT_EQ(reg->vms[1].state, "paused");
}

TEST(ProtocolContract, RegistrationOfAnOlderAgent) {
  // Before 0.2: no boot_id, tsc_khz_source or kvm.
  auto reg = decode<HostRegistration>(
      R"({"hostname":"h","tsc_khz":1000,"scaling_supported":false,"offset_honoured":"unknown","masterclock_possible":false})");
  ASSERT_TRUE(reg.ok()) << reg.problem().message;
  EXPECT_EQ(reg->tsc_khz_source, snapshot::TscKhzSource::unrecorded);
  EXPECT_EQ(reg->kvm, snapshot::KvmPresence::unrecorded);
  EXPECT_TRUE(reg->vms.empty());
}

TEST(ProtocolContract, SyncResultsReadBackInBothForms) {
  auto event = decode<PhaseEvent>(encode(sample_event()));
  ASSERT_TRUE(event.ok()) << event.problem().message;
  auto numbers = decode<SyncResults>(event->results_json);
  ASSERT_TRUE(numbers.ok()) << numbers.problem().message;
  EXPECT_FALSE(numbers->policy.has_value());
  EXPECT_EQ(numbers->guest_offset_after_ns, 1234);
  EXPECT_EQ(numbers->target.source, "source snapshot + controller offset");

  auto result = decode<CommandResult>(encode(sample_command_result()));
  ASSERT_TRUE(result.ok()) << result.problem().message;
  auto from_command = decode<SyncResults>(result->results_json);
  ASSERT_TRUE(from_command.ok()) << from_command.problem().message;
  EXPECT_EQ(from_command->policy, "step");
  EXPECT_FALSE(from_command->guest_offset_before_ns.has_value());  // null
  EXPECT_EQ(from_command->target.offset_ns, 3'600'000'000'000);
}

TEST(ProtocolContract, VerificationReadBack) {
  auto doc = net::parse_object(results_json(sample_verification()));
  ASSERT_TRUE(doc.ok());
  auto v = decode<Verification>((*doc)["verification"]);
  ASSERT_TRUE(v.ok()) << v.problem().message;
  EXPECT_EQ(v->residual_ns, -3456);
  EXPECT_EQ(v->uncertainty_limit_ns, 100'000);
}

TEST(ProtocolContract, RestoreInputsCarryTheSnapshotIntact) {
  auto in = decode<RestoreInputs>(encode(sample_restore_inputs()), kMaxDepthWithSnapshot);
  ASSERT_TRUE(in.ok()) << in.problem().message;
  auto snap = serialization::decode(in->snapshot_json, serialization::Format::json);
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  EXPECT_EQ(serialization::testing::first_difference(*snap, serialization::testing::sample_snapshot(2)), "");
  EXPECT_EQ(in->realtime_offset_ns, 5'000);
  EXPECT_EQ(in->source, "host-a");

  auto local = decode<VmmRestoreInputs>(encode(sample_vmm_restore_inputs()), kMaxDepthWithSnapshot);
  ASSERT_TRUE(local.ok()) << local.problem().message;
  EXPECT_EQ(local->snapshot_json, in->snapshot_json);
  EXPECT_EQ(local->evidence, "controller");
}

TEST(ProtocolContract, HookReadsTheAgentsDecision) {
  auto reply = decode<MigrateBeginReply>(encode(sample_migrate_begin_reply()));
  ASSERT_TRUE(reply.ok()) << reply.problem().message;
  EXPECT_EQ(reply->action, "pin");
  EXPECT_EQ(reply->xml, sample_migrate_begin_reply().xml);
  // An answer without a decision leaves the XML alone.
  auto bare = decode<MigrateBeginReply>("{}");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->action, "");
}

TEST(ProtocolContract, AgentReadsTheHooksEvent) {
  auto ev = decode<HookEvent>(encode(sample_hook_event()));
  ASSERT_TRUE(ev.ok()) << ev.problem().message;
  EXPECT_EQ(ev->op, "migrate");
  EXPECT_EQ(ev->sub_op, "begin");
  EXPECT_EQ(ev->sent_at_ns, 1'700'000'000'000'000'001);
  // The daemon hook names no domain; object defaults to qemu.
  auto daemon = decode<HookEvent>(R"({"op":"start"})");
  ASSERT_TRUE(daemon.ok());
  EXPECT_EQ(daemon->object, "qemu");
}

}  // namespace
}  // namespace migclock::protocol::testing
