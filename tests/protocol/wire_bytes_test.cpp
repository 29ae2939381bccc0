// The exact bytes: what agents and controllers released before protocol/
// existed sent and accepted. A change here breaks a mixed-version fleet.
#include "protocol_samples.hpp"

namespace migclock::protocol::testing {
namespace {

const char* const kTarget =
    R"x({"mode":"continuity","offset_ns":3600000000000,"uncertainty_ns":25000,"source":"source snapshot + controller offset"})x";

TEST(ProtocolWireBytes, Registration) {
  EXPECT_EQ(encode(sample_registration()),
            R"x({"hostname":"host-a","boot_id":"0f6c1c52-boot","agent_version":"0.1.0","tsc_khz":2400000,)x"
            R"x("scaling_supported":true,"clocksource":"tsc","offset_honoured":"yes",)x"
            R"x("tsc_khz_source":"libvirt_capabilities","kvm":"present","masterclock_possible":true,)x"
            R"x("vms":[{"uuid":"uuid-1","name":"vm-one","state":"running"},{"uuid":"uuid-2","name":"vm-two","state":"paused"}]})x");
}

TEST(ProtocolWireBytes, TimeAndOffset) {
  EXPECT_EQ(encode(TimeRequest{11}), R"x({"t1_ns":11})x");
  EXPECT_EQ(encode(TimeReply{11, 22, 33}), R"x({"t1_ns":11,"t2_ns":22,"t3_ns":33})x");
  EXPECT_EQ(encode(sample_offset()),
            R"x({"offset_ns":-12345,"uncertainty_ns":678,"rtt_ns":1356,"samples":8,"measured_at_ns":1700000000000000000})x");
}

TEST(ProtocolWireBytes, Announce) {
  EXPECT_EQ(encode(sample_announce()),
            R"x({"vm_uuid":"uuid-1","vm_name":"vm-one","source":"host-a","kind":"suspend-resume"})x");
}

TEST(ProtocolWireBytes, PhaseEvents) {
  EXPECT_EQ(encode(sample_event()),
            std::string(R"x({"phase":"synced","host":"host-b","at_ns":1700000000123456789,"results":{)x"
                        R"x("guest_offset_before_ns":-2000000000,"guest_offset_after_ns":1234,"sync_rtt_ns":456000,)x"
                        R"x("sync_spread_ns":7890,"target":)x") +
                kTarget + "}}");
  EXPECT_EQ(encode(PhaseEvent{Phase::resumed, "host-b", 5, "", ""}), R"x({"phase":"resumed","host":"host-b","at_ns":5})x");
  EXPECT_EQ(encode(PhaseEvent{Phase::shipped, "host-b", 5, "",
                              restore_note_json("by value: QEMU's migration stream (libvirt/QEMU VM)")}),
            R"x({"phase":"shipped","host":"host-b","at_ns":5,"results":{"restore":"by value: QEMU's migration stream (libvirt/QEMU VM)"}})x");
  EXPECT_EQ(encode(PhaseEvent{Phase::degraded, "host-b", 5, "over", results_json(sample_verification())}),
            R"x({"phase":"degraded","host":"host-b","at_ns":5,"reason":"over","results":{"verification":{)x"
            R"x("method":"guest-get-time NTP-style, lowest-RTT samples (the correcting channel)","channel":"qemu-ga",)x"
            R"x("verdict":"degraded","residual_ns":-3456,"uncertainty_ns":120000,"statistical_ns":5000,)x"
            R"x("spread_ns":7890,"rtt_ns":456000,"residual_threshold_ns":1000000,"uncertainty_limit_ns":100000,)x"
            R"x("reason":"uncertainty 120000 ns over the limit 100000 ns"}}})x");
}

TEST(ProtocolWireBytes, Commands) {
  EXPECT_EQ(encode(sample_commands()),
            R"x([{"id":"c-1","kind":"sync","vm_uuid":"uuid-1","vm_name":"vm-one"},)x"
            R"x({"id":"c-2","kind":"sync","vm_uuid":"uuid-2","vm_name":""}])x");
  // A command's results carry the policy, and null for offsets not measured.
  EXPECT_EQ(encode(sample_command_result()),
            std::string(R"x({"ok":true,"message":"synced (via qemu-ga)","results":{"policy":"step",)x"
                        R"x("guest_offset_before_ns":null,"guest_offset_after_ns":1234,"sync_rtt_ns":456000,)x"
                        R"x("sync_spread_ns":7890,"target":)x") +
                kTarget + "}}");
  EXPECT_EQ(encode(CommandResult{false, "no domain 'x'", ""}), R"x({"ok":false,"message":"no domain 'x'"})x");
}

TEST(ProtocolWireBytes, RestoreInputsEmbedTheSnapshot) {
  RestoreInputs in{"m-1", "host-a", "host-b", R"x({"format":"x"})x", 5000, 700, 9};
  EXPECT_EQ(encode(in), R"x({"migration_id":"m-1","source":"host-a","destination":"host-b","snapshot":{"format":"x"},)x"
                        R"x("realtime_offset_ns":5000,"uncertainty_ns":700,"measured_at_ns":9})x");
  VmmRestoreInputs local{R"x({"format":"x"})x", 5000, -1, "controller"};
  EXPECT_EQ(encode(local), R"x({"snapshot":{"format":"x"},"realtime_offset_ns":5000,"uncertainty_ns":-1,"evidence":"controller"})x");
}

TEST(ProtocolWireBytes, HookToAgent) {
  EXPECT_EQ(encode(sample_hook_event()),
            R"x({"object":"qemu","name":"vm-one","op":"migrate","sub_op":"begin","extra":"-","uuid":"uuid-1",)x"
            R"x("sent_at_ns":1700000000000000001})x");
  EXPECT_EQ(encode(MigrateBeginRequest{"vm-one", "<domain/>"}), R"x({"name":"vm-one","xml":"<domain/>"})x");
  MigrateBeginReply r = sample_migrate_begin_reply();
  r.source_tsc_khz.reset();
  r.xml = "<d/>";
  EXPECT_EQ(encode(r), R"x({"action":"pin","message":"pinned the guest TSC to 2400000 kHz","warning":"no TSC scaling",)x"
                       R"x("policy":"strict","host_tsc_khz":2400000,"source_tsc_khz":null,"frequency_hz":2400100000,)x"
                       R"x("xml":"<d/>"})x");
  EXPECT_EQ(encode(HookEventRecorded{}), R"x({"recorded":true})x");
  EXPECT_EQ(encode(SyncScheduled{}), R"x({"scheduled":true})x");
  EXPECT_EQ(encode(VmmSnapshotStored{"/x"}), R"x({"stored":"/x"})x");
}

}  // namespace
}  // namespace migclock::protocol::testing
