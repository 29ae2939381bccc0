// What the restore refuses, and the PIT rebase: pure decisions, no KVM.
#include <gtest/gtest.h>

#include "migclock/kvm/restore_plan.hpp"

namespace migclock::kvm {
namespace {

constexpr int64_t kNow = 1'795'000'000'000'000'000;

snapshot::Snapshot snapshot_with(size_t vcpus, uint32_t khz, int64_t realtime) {
  snapshot::Snapshot s;
  s.clock.clock_ns = 5'000'000'000;
  s.clock.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
  s.clock.realtime_ns = static_cast<uint64_t>(realtime);
  s.clock.host_tsc = 1'000'000;
  for (size_t i = 0; i < vcpus; ++i) {
    snapshot::VcpuClock c;
    c.id = static_cast<uint32_t>(i);
    c.tsc_khz = khz;
    s.vcpus.push_back(c);
  }
  return s;
}

DestinationFacts destination(uint32_t vcpus, uint32_t khz, bool scaling = false) {
  DestinationFacts d;
  d.vcpus = vcpus;
  d.tsc_khz = khz;
  d.scaling_supported = scaling;
  d.realtime_now_ns = kNow;
  d.current_clock_ns = 1'000;
  return d;
}

TEST(AdmissionTest, VcpuCountMismatchIsRefused) {
  auto a = admit(snapshot_with(2, 2'596'124, kNow - 1), destination(4, 2'596'124), {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, errc::vcpu_count_mismatch);
  EXPECT_EQ(a.error().context, "snapshot has 2 vCPUs, destination 4");
}

TEST(AdmissionTest, TscRateWithin250PpmNeedsNoScaling) {
  // 2'596'124 kHz * 250 ppm = 649 kHz.
  auto a = admit(snapshot_with(1, 2'596'124 + 649, kNow - 1), destination(1, 2'596'124), {});
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_FALSE(a->set_tsc_khz);
}

TEST(AdmissionTest, TscRateBeyond250PpmWithoutScalingIsRefused) {
  auto a = admit(snapshot_with(1, 2'596'124 + 700, kNow - 1), destination(1, 2'596'124), {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, errc::tsc_frequency_mismatch);
  EXPECT_NE(a.error().context.find("cannot scale"), std::string::npos) << a.error().context;
}

TEST(AdmissionTest, TscRateBeyond250PpmWithScalingSetsTheGuestRate) {
  auto a = admit(snapshot_with(1, 3'000'000, kNow - 1), destination(1, 2'596'124, true), {});
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_TRUE(a->set_tsc_khz);
  EXPECT_EQ(a->tsc_khz, 3'000'000u);
}

TEST(AdmissionTest, RealtimeInTheFutureIsRefusedUnlessForced) {
  RestorePolicy policy;
  const int64_t ahead = policy.future_tolerance_ns + 1;
  auto refused = admit(snapshot_with(1, 2'596'124, kNow + ahead), destination(1, 2'596'124), policy);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::realtime_in_future);
  auto within = admit(snapshot_with(1, 2'596'124, kNow + policy.future_tolerance_ns), destination(1, 2'596'124), policy);
  EXPECT_TRUE(within.ok());
  policy.force_future = true;
  auto forced = admit(snapshot_with(1, 2'596'124, kNow + ahead), destination(1, 2'596'124), policy);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->clock.flags, static_cast<uint32_t>(KVM_CLOCK_REALTIME));  // KVM itself never steps back
}

TEST(AdmissionTest, PreciseModeAsksKvmToAdvanceByRealtime) {
  auto snap = snapshot_with(1, 2'596'124, kNow - 180'000'000'000);
  auto a = admit(snap, destination(1, 2'596'124), {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->clock.clock, snap.clock.clock_ns);
  EXPECT_EQ(a->clock.realtime, snap.clock.realtime_ns);
  EXPECT_EQ(a->clock.flags, static_cast<uint32_t>(KVM_CLOCK_REALTIME));
  EXPECT_FALSE(a->degraded);
  RestorePolicy by_value;
  by_value.mode = ClockMode::by_value;
  auto b = admit(snap, destination(1, 2'596'124), by_value);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->clock.flags, 0u);
  EXPECT_EQ(b->clock.clock, snap.clock.clock_ns);
}

TEST(AdmissionTest, NoRealtimeInSnapshotIsDegradedNotSilent) {
  auto snap = snapshot_with(1, 2'596'124, 0);
  snap.clock.flags = 0;
  auto a = admit(snap, destination(1, 2'596'124), {});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->degraded);
  EXPECT_NE(a->degraded_reason.find("KVM_CLOCK_REALTIME"), std::string::npos);
  EXPECT_EQ(a->clock.flags, 0u);
}

TEST(AdmissionTest, NeverStepsTheDestinationKvmclockBack) {
  auto snap = snapshot_with(1, 2'596'124, kNow - 1'000);
  DestinationFacts dst = destination(1, 2'596'124);
  dst.current_clock_ns = snap.clock.clock_ns + 10'000'000;  // the destination VM already ran further
  auto a = admit(snap, dst, {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, errc::would_step_backwards);
  dst.current_clock_ns = snap.clock.clock_ns + 500;  // the elapsed 1 µs covers it
  EXPECT_TRUE(admit(snap, dst, {}).ok());
}

TEST(AdmissionTest, VcpusAtDifferentRatesAreRefused) {
  auto snap = snapshot_with(2, 2'596'124, kNow - 1);
  snap.vcpus[1].tsc_khz = 2'000'000;
  auto a = admit(snap, destination(2, 2'596'124), {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, errc::validation_failed);
}

TEST(PitRebaseTest, FreezeResumesWhereItStoppedAdvanceCountsTheBlackout) {
  snapshot::PitState pit;
  pit.present = true;
  pit.channels[0].mode = 2;
  pit.channels[0].count = 0x10000;
  // Loaded 30 ms before the capture, on the capture's monotonic_raw timeline.
  const int64_t captured_raw = 9'000'000'000;
  pit.channels[0].count_load_time = captured_raw - 30'000'000;
  const int64_t dst_now = 77'000'000'000;
  const int64_t blackout = 200'000'000;
  auto frozen = rebase_pit(pit, captured_raw, dst_now, blackout, PitPolicy::freeze);
  EXPECT_EQ(dst_now - frozen.channels[0].count_load_time, 30'000'000);
  auto advanced = rebase_pit(pit, captured_raw, dst_now, blackout, PitPolicy::advance);
  EXPECT_EQ(dst_now - advanced.channels[0].count_load_time, 230'000'000);
  EXPECT_EQ(advanced.channels[0].mode, 2);
  EXPECT_EQ(advanced.channels[0].count, 0x10000u);
}

TEST(ClockModeTest, ParsesItsNamesAndRefusesOthers) {
  EXPECT_EQ(*parse_clock_mode("precise"), ClockMode::precise);
  EXPECT_EQ(*parse_clock_mode("by-value"), ClockMode::by_value);
  EXPECT_STREQ(clock_mode_name(ClockMode::by_value), "by-value");
  auto bad = parse_clock_mode("sideways");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, errc::invalid_argument);
}

}  // namespace
}  // namespace migclock::kvm
