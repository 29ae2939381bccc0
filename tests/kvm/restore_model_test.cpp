// The restore's TSC and kvmclock math against a model of the kernel's
// documented semantics (hypervisor_model.hpp): this host ignores TSC offset
// writes, so the precise path is proven here, end to end through restore()
// and verify(), with ratios != 1, different host rates, and guest TSCs on
// both sides of the host's (and across 2^64).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "hypervisor_model.hpp"
#include "migclock/kvm/restore.hpp"
#include "migclock/kvm/verify.hpp"

namespace migclock::kvm {
namespace {

using model::ModelHypervisor;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kRealtime2026 = 1'795'000'000 * kSecond;

// Ratio for a guest at guest_khz on a host at host_khz (KVM_SET_TSC_KHZ).
TscScale ratio_for(uint32_t guest_khz, uint32_t host_khz) {
  return {static_cast<uint64_t>((static_cast<unsigned __int128>(guest_khz) << 48) / host_khz), 48};
}

struct Scenario {
  const char* name;
  uint32_t src_host_khz;
  uint32_t guest_khz;
  uint32_t dst_host_khz;
  uint64_t src_host_tsc0;
  uint64_t dst_host_tsc0;
  std::vector<uint64_t> src_offsets;  // one per vCPU; equal values are "matched"
  int64_t pause_ns;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

// Source: a guest at guest_khz on src_host_khz (scaled when they differ).
ModelHypervisor make_source(const Scenario& s) {
  ModelHypervisor src(s.src_host_khz, s.src_host_tsc0, kRealtime2026, s.src_offsets.size());
  for (size_t i = 0; i < s.src_offsets.size(); ++i) {
    if (s.guest_khz != s.src_host_khz) {
      EXPECT_TRUE(src.set_vcpu_tsc_khz(i, s.guest_khz).ok());
    }
    src.vcpu(i).offset = s.src_offsets[i];
    src.vcpu(i).system_time_msr = 0x2001 + 32 * i;
  }
  src.set_kvmclock(3'600 * static_cast<uint64_t>(kSecond));  // an hour of guest uptime
  src.advance_ns(1'234'567);
  return src;
}

class PreciseRestoreModelTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(PreciseRestoreModelTest, GuestTscAndKvmclockAdvanceByTheBlackout) {
  const Scenario& sc = GetParam();
  ModelHypervisor src = make_source(sc);
  const snapshot::Snapshot snap = src.capture();
  const uint64_t src_real = snap.clock.realtime_ns;

  // The destination's realtime agrees with the source's (the controller
  // corrects for host clock offsets); its TSC and rate do not.
  ModelHypervisor dst(sc.dst_host_khz, sc.dst_host_tsc0, static_cast<int64_t>(src_real) + sc.pause_ns,
                      sc.src_offsets.size());
  RestorePolicy policy;
  auto outcome = restore(dst, snap, policy, dst);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->admission.set_tsc_khz, sc.guest_khz != sc.dst_host_khz);
  EXPECT_TRUE(outcome->offsets_from_exact_tsc);

  auto v = verify(dst, snap, *outcome);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_TRUE(v->offsets_honoured);
  EXPECT_TRUE(v->offsets_matched);
  EXPECT_TRUE(v->msrs_hold);
  EXPECT_EQ(dst.vcpu(0).system_time_msr, snap.vcpus[0].msr_kvm_system_time);
  EXPECT_FALSE(v->stepped_back);

  // At several later instants, every vCPU's guest TSC is its source value
  // plus the realtime elapsed at the guest's rate, to rounding (a few
  // cycles), and kvmclock is its source value plus the same elapsed time.
  for (int64_t later : {int64_t{0}, 17 * int64_t{1000}, kSecond, 250 * kSecond}) {
    dst.advance_ns(later);
    const int64_t elapsed = dst.realtime_ns() - static_cast<int64_t>(src_real);
    for (size_t i = 0; i < sc.src_offsets.size(); ++i) {
      const uint64_t src_guest = guest_tsc_at(snap.clock.host_tsc, src.vcpu(i).scale, sc.src_offsets[i]);
      const uint64_t ideal = src_guest + static_cast<uint64_t>(ns_to_cycles(elapsed, sc.guest_khz));
      const auto error = static_cast<int64_t>(dst.guest_tsc(i) - ideal);
      EXPECT_LE(std::llabs(error), 4) << sc.name << " vcpu " << i << " +" << later << " ns";
    }
    // The kernel's own REALTIME arithmetic: exact in the model.
    EXPECT_EQ(static_cast<int64_t>(dst.kvmclock_ns() - snap.clock.clock_ns), elapsed) << sc.name;
  }
  // Matched on the source, identical on the destination.
  for (size_t i = 1; i < sc.src_offsets.size(); ++i)
    if (sc.src_offsets[i] == sc.src_offsets[0]) {
      EXPECT_EQ(dst.vcpu(i).offset, dst.vcpu(0).offset) << sc.name;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, PreciseRestoreModelTest,
    ::testing::Values(
        // Same rates, guest TSC behind the host's (negative offset), two matched vCPUs.
        Scenario{"same_rate_behind", 2'596'124, 2'596'124, 2'596'124, 50'000'000'000'000ull, 9'000'000'000ull,
                 {static_cast<uint64_t>(-40'000'000'000'000ll), static_cast<uint64_t>(-40'000'000'000'000ll)},
                 200'000'000},
        // Guest 2.6 GHz scaled on a 3.0 GHz source, restored on a 2.0 GHz host
        // (ratio != 1 on both sides), guest ahead of the host, one unmatched vCPU.
        Scenario{"scaled_both_sides_ahead", 3'000'000, 2'600'000, 2'000'000, 7'000'000'000'000ull,
                 123'456'789'012'345ull, {1'000'000'000'000ull, 1'000'000'000'000ull, 5'000ull}, 180 * kSecond},
        // Guest TSC wraps across 2^64 during the blackout.
        Scenario{"wraps_2_64", 2'000'000, 2'000'000, 3'100'000, 1'000'000ull, 1ull << 40,
                 {~0ull - 100'000'000'000ull}, 60 * kSecond},
        // Destination host TSC far ahead of the source's (a long-running host).
        Scenario{"dst_host_far_ahead", 2'400'000, 2'400'000, 2'400'000, 10'000ull, ~0ull / 2,
                 {0, 0, 0, 0}, 1 * kSecond}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// The kernel doc's short form, ofs_dst = ofs_src + elapsed_cycles - (host_dst
// - host_src), mixes host and guest cycles: the model must catch it once a
// ratio != 1 or different host TSCs are involved (the model discriminates).
TEST(RestoreFormulaModelTest, ShortFormIsWrongWithScalingAndTheModelSeesIt) {
  Scenario sc{"short", 3'000'000, 2'600'000, 2'000'000, 7'000'000'000'000ull, 123'456'789'012'345ull, {5'000ull},
              10 * kSecond};
  ModelHypervisor src = make_source(sc);
  const snapshot::Snapshot snap = src.capture();
  ModelHypervisor dst(sc.dst_host_khz, sc.dst_host_tsc0, static_cast<int64_t>(snap.clock.realtime_ns) + sc.pause_ns, 1);
  ASSERT_TRUE(dst.set_vcpu_tsc_khz(0, sc.guest_khz).ok());
  ASSERT_TRUE(dst.set_clock({snap.clock.clock_ns, KVM_CLOCK_REALTIME, 0, snap.clock.realtime_ns, 0, {}}).ok());
  auto now = dst.get_clock();
  ASSERT_TRUE(now.ok());
  const int64_t elapsed = static_cast<int64_t>(now->clock - snap.clock.clock_ns);
  const uint64_t short_form =
      sc.src_offsets[0] + static_cast<uint64_t>(ns_to_cycles(elapsed, sc.guest_khz)) - (now->host_tsc - snap.clock.host_tsc);
  const uint64_t planned = plan_tsc_offsets(snap, {now->clock, now->host_tsc}, {dst.vcpu(0).scale})[0];
  const uint64_t ideal =
      guest_tsc_at(snap.clock.host_tsc, src.vcpu(0).scale, sc.src_offsets[0]) + static_cast<uint64_t>(ns_to_cycles(elapsed, sc.guest_khz));
  EXPECT_LE(std::llabs(static_cast<int64_t>(guest_tsc_at(now->host_tsc, dst.vcpu(0).scale, planned) - ideal)), 2);
  EXPECT_GT(std::llabs(static_cast<int64_t>(guest_tsc_at(now->host_tsc, dst.vcpu(0).scale, short_form) - ideal)),
            1'000'000'000ll);
}

// By value (QEMU today): the guest TSC and kvmclock resume where they
// stopped, i.e. behind continuous time by the blackout.
TEST(ByValueRestoreModelTest, GuestClocksLoseTheBlackout) {
  Scenario sc{"by_value", 2'596'124, 2'596'124, 2'596'124, 50'000'000'000'000ull, 9'000'000'000ull, {0, 0},
              200'000'000};
  ModelHypervisor src = make_source(sc);
  const snapshot::Snapshot snap = src.capture();
  ModelHypervisor dst(sc.dst_host_khz, sc.dst_host_tsc0, static_cast<int64_t>(snap.clock.realtime_ns) + sc.pause_ns, 2);
  RestorePolicy policy;
  policy.mode = ClockMode::by_value;
  auto outcome = restore(dst, snap, policy, dst);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  auto v = verify(dst, snap, *outcome);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->offsets_honoured);  // the model honours MSR_IA32_TSC
  const int64_t elapsed = dst.realtime_ns() - static_cast<int64_t>(snap.clock.realtime_ns);
  const int64_t kvmclock_error = static_cast<int64_t>(dst.kvmclock_ns() - snap.clock.clock_ns) - elapsed;
  EXPECT_NEAR(static_cast<double>(kvmclock_error), -static_cast<double>(sc.pause_ns), 1e6);
  const int64_t tsc_error =
      static_cast<int64_t>(dst.guest_tsc(0) - snap.vcpus[0].msr_tsc) - ns_to_cycles(elapsed, sc.guest_khz);
  EXPECT_NEAR(static_cast<double>(tsc_error), -static_cast<double>(ns_to_cycles(sc.pause_ns, sc.guest_khz)), 3e6);
}

// Two hosts whose CLOCK_REALTIMEs disagree by `skew` (destination − source,
// what the controller measures). Given that offset, the guest's clocks
// advance by the true blackout; without it, by the blackout plus the skew
// (or, with the destination behind, the snapshot looks like the future).
TEST(HostClockOffsetModelTest, MeasuredOffsetKeepsTheSkewOutOfTheBlackout) {
  for (int64_t skew : {int64_t{40'000'000}, int64_t{-250'000'000}, 3 * kSecond}) {
    Scenario sc{"skew", 2'596'124, 2'596'124, 2'596'124, 50'000'000'000'000ull, 9'000'000'000ull, {0, 0},
                200'000'000};
    ModelHypervisor src = make_source(sc);
    const snapshot::Snapshot snap = src.capture();
    const int64_t true_src_real = static_cast<int64_t>(snap.clock.realtime_ns);

    ModelHypervisor dst(sc.dst_host_khz, sc.dst_host_tsc0, true_src_real + sc.pause_ns + skew, 2);
    RestorePolicy policy;
    policy.realtime_offset_ns = skew;
    auto outcome = restore(dst, snap, policy, dst);
    ASSERT_TRUE(outcome.ok()) << "skew " << skew << ": " << outcome.error().message();
    auto v = verify(dst, snap, *outcome);
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->offsets_honoured);
    EXPECT_FALSE(v->stepped_back);
    // True elapsed time: the destination's clock minus the skew.
    const int64_t elapsed = dst.realtime_ns() - skew - true_src_real;
    EXPECT_EQ(static_cast<int64_t>(dst.kvmclock_ns() - snap.clock.clock_ns), elapsed) << "skew " << skew;
    const uint64_t ideal = guest_tsc_at(snap.clock.host_tsc, src.vcpu(0).scale, sc.src_offsets[0]) +
                           static_cast<uint64_t>(ns_to_cycles(elapsed, sc.guest_khz));
    EXPECT_LE(std::llabs(static_cast<int64_t>(dst.guest_tsc(0) - ideal)), 4) << "skew " << skew;

    // The same restore without the measured offset: the skew lands in the
    // guest's clock, or (destination behind) the snapshot is refused as
    // coming from the future.
    ModelHypervisor blind(sc.dst_host_khz, sc.dst_host_tsc0, true_src_real + sc.pause_ns + skew, 2);
    auto unmeasured = restore(blind, snap, RestorePolicy{}, blind);
    if (skew + sc.pause_ns < -RestorePolicy{}.future_tolerance_ns) {
      ASSERT_FALSE(unmeasured.ok());
      EXPECT_EQ(unmeasured.error().code, errc::realtime_in_future);
    } else {
      ASSERT_TRUE(unmeasured.ok()) << unmeasured.error().message();
      const int64_t blind_error =
          static_cast<int64_t>(blind.kvmclock_ns() - snap.clock.clock_ns) - (blind.realtime_ns() - skew - true_src_real);
      // KVM never steps back: a destination behind by more than the pause
      // leaves the guest the pause (plus a few modelled ioctls) behind.
      EXPECT_NEAR(static_cast<double>(blind_error), static_cast<double>(std::max<int64_t>(skew, -sc.pause_ns)), 1e6)
          << "skew " << skew;
    }
  }
}

// Without KVM_CLOCK_HOST_TSC the source guest TSC comes from each vCPU's
// MSR_IA32_TSC, read one after another (µs apart on real KVM): vCPUs whose
// offsets matched must still get one identical offset (the masterclock
// needs it), not one per read instant.
TEST(MatchedOffsetsModelTest, StayIdenticalWhenTheSnapshotHasNoHostTsc) {
  Scenario sc{"no_host_tsc", 2'596'124, 2'596'124, 2'596'124, 50'000'000'000'000ull, 9'000'000'000ull,
              {777, 777, 9'999}, 200'000'000};
  ModelHypervisor src = make_source(sc);
  snapshot::Snapshot snap = src.capture();
  snap.clock.flags &= ~static_cast<uint32_t>(KVM_CLOCK_HOST_TSC);
  snap.clock.host_tsc = 0;
  snap.vcpus[1].msr_tsc += 15'000;  // read ~6 µs after vCPU 0's
  snap.vcpus[2].msr_tsc += 30'000;
  ModelHypervisor dst(sc.dst_host_khz, sc.dst_host_tsc0, static_cast<int64_t>(snap.clock.realtime_ns) + sc.pause_ns, 3);
  auto outcome = restore(dst, snap, RestorePolicy{}, dst);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_FALSE(outcome->offsets_from_exact_tsc);
  EXPECT_TRUE(outcome->admission.degraded);
  EXPECT_EQ(dst.vcpu(1).offset, dst.vcpu(0).offset);
  EXPECT_NE(dst.vcpu(2).offset, dst.vcpu(0).offset);  // it did not match on the source
  auto v = verify(dst, snap, *outcome);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->offsets_matched);
}

// KVM_KVMCLOCK_CTRL answers EINVAL for a vCPU whose guest never enabled
// kvmclock: counted, not fatal.
TEST(KvmclockCtrlModelTest, EinvalWithoutAGuestKvmclockIsCounted) {
  Scenario sc{"no_kvmclock", 2'596'124, 2'596'124, 2'596'124, 1'000'000ull, 2'000'000ull, {0, 0, 0}, 1'000'000};
  ModelHypervisor src = make_source(sc);
  src.vcpu(1).system_time_msr = 0;  // vCPU 1's guest has no kvmclock
  const snapshot::Snapshot snap = src.capture();
  ModelHypervisor dst(sc.dst_host_khz, sc.dst_host_tsc0, static_cast<int64_t>(snap.clock.realtime_ns) + sc.pause_ns, 3);
  auto outcome = restore(dst, snap, RestorePolicy{}, dst);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->kvmclock_ctrl_einval, 1u);
  EXPECT_EQ(outcome->kvmclock_ctrl_ok, 2u);
}

TEST(StepBackModelTest, RefusedOnlyWhenAGuestSawTheDestinationClock) {
  Scenario sc{"step", 2'596'124, 2'596'124, 2'596'124, 1'000'000ull, 2'000'000ull, {0}, 1'000'000};
  ModelHypervisor src = make_source(sc);
  const snapshot::Snapshot snap = src.capture();
  ModelHypervisor dst(sc.dst_host_khz, sc.dst_host_tsc0, static_cast<int64_t>(snap.clock.realtime_ns) + sc.pause_ns, 1);
  dst.set_kvmclock(snap.clock.clock_ns + 3'600ull * 1'000'000'000);  // an hour ahead
  RestorePolicy by_value;
  by_value.mode = ClockMode::by_value;
  dst.has_run_ = true;
  auto refused = restore(dst, snap, by_value, dst);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::would_step_backwards);
  EXPECT_GT(dst.kvmclock_ns(), snap.clock.clock_ns + 3'599ull * 1'000'000'000);  // nothing written
  dst.has_run_ = false;
  auto fresh = restore(dst, snap, by_value, dst);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message();
  auto v = verify(dst, snap, *fresh);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->stepped_back);
}

TEST(ScaleModelTest, ScalingIs128BitFixedPoint) {
  EXPECT_EQ(scale_tsc(1000, TscScale::identity()), 1000u);
  EXPECT_EQ(scale_tsc(1000, {3ull << 47, 48}), 1500u);  // ratio 1.5
  EXPECT_EQ(scale_tsc(~0ull, TscScale::identity()), ~0ull);
  EXPECT_EQ(scale_tsc(1ull << 63, {1ull << 47, 48}), 1ull << 62);  // ratio 0.5, no overflow
  EXPECT_EQ(guest_tsc_at(10, TscScale::identity(), ~0ull), 9u);    // offset -1 wraps
  EXPECT_EQ(ns_to_cycles(1'000'000'000, 2'596'124), 2'596'124'000);
  EXPECT_EQ(ns_to_cycles(-1'000'000'000, 2'000'000), -2'000'000'000);
}

TEST(RatioModelTest, KernelRatioForRateMatchesTheModel) {
  ModelHypervisor m(3'000'000, 0, kRealtime2026, 1);
  ASSERT_TRUE(m.set_vcpu_tsc_khz(0, 2'600'000).ok());
  EXPECT_EQ(m.vcpu(0).scale.ratio, ratio_for(2'600'000, 3'000'000).ratio);
  const uint64_t before = m.guest_tsc(0);
  m.advance_ns(kSecond);
  EXPECT_NEAR(static_cast<double>(m.guest_tsc(0) - before), 2'600'000'000.0, 2.0);
}

}  // namespace
}  // namespace migclock::kvm
