// The judge's arithmetic against exchanges with known truth.
#include <gtest/gtest.h>

#include "migclock/timeprobe/estimate.hpp"

namespace migclock::timeprobe {
namespace {

// An exchange with true offset `off`, request leg `up` and reply leg `down`
// (ns), sent at host time t1.
Exchange ex(int64_t t1, int64_t off, int64_t up, int64_t down) { return {t1, t1 + up + off, t1 + up + down}; }

TEST(TimeprobeEstimate, SymmetricLegsGiveTheExactOffset) {
  auto e = estimate({ex(1000, 5000, 40, 40), ex(2000, 5000, 50, 50)}, 4);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset_ns, 5000);
  EXPECT_EQ(e->min_rtt_ns, 80);
  EXPECT_EQ(e->asymmetry_ns, 40);
  EXPECT_EQ(e->scatter_ns, 0);
  EXPECT_EQ(e->uncertainty_ns, 40);
  EXPECT_EQ(e->used, 2u);
}

TEST(TimeprobeEstimate, AsymmetricLegsStayWithinHalfTheRtt) {
  // All delay on the reply leg: the midpoint estimate is off by rtt/2, and
  // the bound still covers the truth.
  auto e = estimate({ex(0, -300'000, 0, 100'000)}, 1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset_ns, -300'000 - 50'000);
  EXPECT_LE(std::llabs(e->offset_ns - (-300'000)), e->uncertainty_ns);
}

TEST(TimeprobeEstimate, KeepsOnlyTheLowestRttExchanges) {
  // Two slow exchanges with a skewed path would drag a plain mean away.
  std::vector<Exchange> xs{ex(0, 1000, 30, 30), ex(100, 1000, 900'000, 10), ex(200, 1000, 35, 35),
                           ex(300, 1000, 10, 2'000'000)};
  auto e = estimate(xs, 2);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->used, 2u);
  EXPECT_EQ(e->total, 4u);
  EXPECT_EQ(e->offset_ns, 1000);
  EXPECT_EQ(e->min_rtt_ns, 60);
  EXPECT_EQ(e->host_ns, 30);
}

TEST(TimeprobeEstimate, ScatterOfTheKeptSamplesWidensTheBound) {
  auto e = estimate({ex(0, 1000, 50, 50), ex(1, 1400, 50, 50), ex(2, 900, 50, 50)}, 3);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset_ns, 1000);  // median
  EXPECT_EQ(e->scatter_ns, 400);
  EXPECT_EQ(e->uncertainty_ns, 50 + 400);
}

TEST(TimeprobeEstimate, NothingToEstimateFrom) { EXPECT_FALSE(estimate({}, 4)); }

TEST(TimeprobeSettle, TimeToWithinIsFromTheLastEntryIntoTheBound) {
  std::vector<TimedOffset> p{{10, -80'000'000, 0}, {30, -900'000, 0}, {50, 2'000'000, 0}, {70, 500'000, 0},
                             {90, 50'000, 0},     {110, -20'000, 0}};
  EXPECT_EQ(time_to_within(p, 1'000'000), 70);  // the excursion at 50 restarts the clock
  EXPECT_EQ(time_to_within(p, 100'000), 90);
  EXPECT_FALSE(time_to_within(p, 10'000));       // the last point is outside
  EXPECT_FALSE(time_to_within({}, 1'000'000));
}

TEST(TimeprobeSettle, MedianIsAnObservedValue) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2);
}

}  // namespace
}  // namespace migclock::timeprobe
