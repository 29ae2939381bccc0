// QgaBias (agent/qga_bias.hpp): qemu-ga's reply path on this host, learned
// from back-to-back qemu-ga and companion measurements.
#include "migclock/agent/qga_bias.hpp"

#include <gtest/gtest.h>

namespace migclock::agent {
namespace {

constexpr int64_t kCompanionBound = 50'000;

// The samples measured against real libvirt (tests/agent/libvirt_clock_test):
// d grew with B, and B - d stayed near 0.3-0.4 ms.
TEST(QgaBias, LearnsTheReplyPathAsTheMedianOfBoundMinusBias) {
  QgaBias b;
  EXPECT_TRUE(b.record(321'114, 701'042, kCompanionBound));
  EXPECT_TRUE(b.record(308'182, 695'717, kCompanionBound));
  EXPECT_FALSE(b.estimate().has_value()) << "nothing is used before three samples";
  EXPECT_TRUE(b.record(648'420, 1'043'339, kCompanionBound));
  auto e = b.estimate();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reply_path_ns, 387'535);  // B - d: 379 928, 387 535, 394 919
  EXPECT_EQ(e->spread_ns, 7'384);
  EXPECT_EQ(e->samples, 3u);
}

TEST(QgaBias, TheMedianShrugsOffAnOutlier) {
  QgaBias b;
  for (int64_t d : {300'000, 320'000, 280'000, 10'000, 310'000}) EXPECT_TRUE(b.record(d, 700'000, kCompanionBound));
  EXPECT_EQ(b.estimate()->reply_path_ns, 400'000);  // 380, 390, 400, 420 and the 690 outlier
}

TEST(QgaBias, ASampleOneClockCannotProduceIsNotKept) {
  QgaBias b;
  // The guest's clock moved between the two measurements: qemu-ga's offset
  // is further from the companion's than both bounds together allow.
  EXPECT_FALSE(b.record(2'207'715, 1'734'743, kCompanionBound));
  EXPECT_FALSE(b.record(-200'000, 700'000, kCompanionBound));
  // A busy moment: qemu-ga could not resolve better than ±2.5 ms.
  EXPECT_FALSE(b.record(2'000'000, 2'500'000, kCompanionBound));
  EXPECT_EQ(b.samples(), 0u);
}

TEST(QgaBias, OnlyTheMostRecentSamplesCount) {
  QgaBias b;
  for (std::size_t i = 0; i < QgaBias::kKept; ++i) b.record(100'000, 700'000, kCompanionBound);
  for (std::size_t i = 0; i < QgaBias::kKept; ++i) b.record(400'000, 700'000, kCompanionBound);
  EXPECT_EQ(b.samples(), QgaBias::kKept);
  EXPECT_EQ(b.estimate()->reply_path_ns, 300'000);
}

}  // namespace
}  // namespace migclock::agent
