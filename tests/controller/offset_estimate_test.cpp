// best_offset (offset_estimate.hpp): which of a host's recent clock-offset
// measurements the controller stands behind, and how it ages.
#include "migclock/controller/offset_estimate.hpp"

#include <gtest/gtest.h>

namespace migclock::controller {
namespace {

constexpr int64_t kS = 1'000'000'000;

ClockOffset at(int64_t received_ns, int64_t offset_ns, int64_t uncertainty_ns) {
  ClockOffset o;
  o.received_ns = received_ns;
  o.offset_ns = offset_ns;
  o.uncertainty_ns = uncertainty_ns;
  return o;
}

TEST(BestOffset, NoHistoryNoOffset) { EXPECT_FALSE(best_offset({}, 100 * kS).has_value()); }

TEST(BestOffset, TheLatestAgesBy50PpmOfItsAge) {
  auto b = best_offset({at(100 * kS, 7'000, 40'000)}, 110 * kS);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->offset_ns, 7'000);
  EXPECT_EQ(b->uncertainty_ns, 40'000 + 500'000);  // 10 s at 50 ppm
}

// The failure this guards against: one heartbeat on a loaded host saw every
// exchange delayed; its ±80 ms would become the next migration's target error.
TEST(BestOffset, ATightConsistentOlderMeasurementBeatsALooseLatestOne) {
  const std::vector<ClockOffset> h{at(90 * kS, 12'000, 50'000), at(100 * kS, 10'000, 60'000),
                                   at(110 * kS, -30'000'000, 80'000'000)};
  auto b = best_offset(h, 111 * kS);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->offset_ns, 10'000);
  EXPECT_EQ(b->uncertainty_ns, 60'000 + 11 * 50'000);
  EXPECT_EQ(b->received_ns, 100 * kS);
}

TEST(BestOffset, OldEnoughMeasurementsLoseToAFreshOne) {
  // 100 s old: 5 ms of aging against a fresh 1 ms.
  auto b = best_offset({at(0, 0, 10'000), at(100 * kS, 200'000, 1'000'000)}, 100 * kS);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->offset_ns, 200'000);
  EXPECT_EQ(b->uncertainty_ns, 1'000'000);
}

TEST(BestOffset, AClockStepInvalidatesEverythingBeforeIt) {
  // The host was stepped by 250 ms between the 2nd and 3rd heartbeat: the
  // tight measurements before it describe another clock.
  const std::vector<ClockOffset> h{at(80 * kS, 0, 20'000), at(90 * kS, 1'000, 20'000),
                                   at(100 * kS, 250'000'000, 2'000'000), at(101 * kS, 251'000'000, 3'000'000)};
  auto b = best_offset(h, 101 * kS);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->offset_ns, 250'000'000);
  EXPECT_EQ(b->uncertainty_ns, 2'000'000 + 50'000);
}

TEST(BestOffset, AReceiveTimeInTheFutureAgesByNothing) {
  auto b = best_offset({at(200 * kS, 5, 100)}, 100 * kS);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->uncertainty_ns, 100);
}

}  // namespace
}  // namespace migclock::controller
