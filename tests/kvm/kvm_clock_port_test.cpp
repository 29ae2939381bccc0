// Ports of the kernel selftest x86/kvm_clock_test.c cases onto the real
// /dev/kvm, with our real-mode guest: set kvmclock (base 0 or 180 s,
// optionally with KVM_CLOCK_REALTIME 180 s in the past or future), then
// check the guest's pvclock reading lies inside a KVM_GET_CLOCK bracket
// taken before and after KVM_RUN, with zero slack, and that the clock moved
// as KVM_SET_CLOCK documents.
#include "kvm_test_support.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/kvm/clock_guest.hpp"

namespace migclock::kvm {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

struct ClockCase {
  const char* name;
  uint64_t kvmclock_base;
  int64_t realtime_offset;  // 0: no KVM_CLOCK_REALTIME
};

void PrintTo(const ClockCase& c, std::ostream* os) { *os << c.name; }

class KvmClockSelftestPort : public ::testing::TestWithParam<ClockCase> {};

TEST_P(KvmClockSelftestPort, GuestReadingInsideGetClockBracket) {
  const ClockCase& tc = GetParam();
  MIGCLOCK_REQUIRE_KVM(sys);
  MIGCLOCK_REQUIRE_CAP(sys, Capability::adjust_clock);
  if (tc.realtime_offset != 0 && !(*sys.check_extension(Capability::adjust_clock) & KVM_CLOCK_REALTIME))
    GTEST_SKIP() << "missing capability KVM_CAP_ADJUST_CLOCK flag KVM_CLOCK_REALTIME";
  auto guest = ClockGuest::create(sys, 1);
  ASSERT_OK(guest);
  ASSERT_OK(guest->sample(0));  // the guest enables kvmclock

  kvm_clock_data data{};
  data.clock = tc.kvmclock_base;
  if (tc.realtime_offset != 0) {
    data.flags = KVM_CLOCK_REALTIME;
    data.realtime = static_cast<uint64_t>(SystemTimeSource::instance().realtime_ns() + tc.realtime_offset);
  }
  ASSERT_OK(guest->vm().set_clock(data));

  for (int round = 0; round < 3; ++round) {
    auto start = guest->vm().get_clock();
    ASSERT_OK(start);
    auto s = guest->sample(0);
    ASSERT_OK(s);
    auto end = guest->vm().get_clock();
    ASSERT_OK(end);
    EXPECT_LE(start->clock, s->kvmclock_ns) << "round " << round;
    EXPECT_LE(s->kvmclock_ns, end->clock) << "round " << round;
    // Never below what was set: KVM does not step kvmclock back.
    EXPECT_GE(s->kvmclock_ns, tc.kvmclock_base);
    if (tc.realtime_offset < 0) {
      // Realtime 180 s in the past: KVM advanced kvmclock by those 180 s.
      EXPECT_GE(s->kvmclock_ns, tc.kvmclock_base + static_cast<uint64_t>(-tc.realtime_offset));
      EXPECT_LT(s->kvmclock_ns, tc.kvmclock_base + static_cast<uint64_t>(-tc.realtime_offset + 10 * kSecond));
    } else {
      // No realtime, or realtime in the future: no advance beyond elapsed run time.
      EXPECT_LT(s->kvmclock_ns, tc.kvmclock_base + 10 * kSecond);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, KvmClockSelftestPort,
                         ::testing::Values(ClockCase{"base_0", 0, 0}, ClockCase{"base_180s", 180 * kSecond, 0},
                                           ClockCase{"realtime_180s_past", 0, -180 * kSecond},
                                           ClockCase{"realtime_180s_future", 0, 180 * kSecond}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace migclock::kvm
