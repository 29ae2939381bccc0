// The arithmetic of NTP-style offset measurement, on hand-made samples and on
// the deterministic guest model (ModelTest: no real guest involved).
#include <gtest/gtest.h>

#include "migclock/agent_sync/offset_measurement.hpp"
#include "migclock/agent_sync/qga_json.hpp"
#include "simulated_guest.hpp"

namespace migclock::agent_sync {
namespace {

ClockSample sample(int64_t t1, int64_t guest, int64_t t4) { return ClockSample{t1, guest, t4}; }

TEST(OffsetModelTest, KeepsLowestRttSamplesAndReportsMedianAndSpread) {
  // Offsets: +100 (rtt 200), +300 (rtt 400), -50 (rtt 100), +9000 (rtt 50000), +120 (rtt 300)
  std::vector<ClockSample> s = {
      sample(1000, 1200, 1200),     // mid 1100 -> +100
      sample(2000, 2500, 2400),     // mid 2200 -> +300
      sample(3000, 3000, 3100),     // mid 3050 -> -50
      sample(4000, 38000, 54000),   // mid 29000 -> +9000, a delayed outlier
      sample(5000, 5270, 5300),     // mid 5150 -> +120
  };
  auto e = estimate_offset(s, 3);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->samples_taken, 5u);
  EXPECT_EQ(e->samples_kept, 3u);           // rtt 100, 200, 300
  EXPECT_EQ(e->median_offset_ns, 100);      // of {-50, +100, +120}
  EXPECT_EQ(e->spread_ns, 170);
  EXPECT_EQ(e->min_rtt_ns, 100);
  EXPECT_EQ(e->median_rtt_ns, 200);
  EXPECT_EQ(e->asymmetry_bound_ns, 50);
  EXPECT_EQ(e->measured_at_host_ns, 54000);
  // MAD of {150, 0, 20} = 20 -> 1.4826 * 20 / sqrt(3) = 17.1
  EXPECT_EQ(e->statistical_ns, 17);
}

TEST(OffsetModelTest, EvenCountMedianIsTheMeanOfTheMiddleTwo) {
  auto e = estimate_offset({sample(0, 10, 0), sample(0, 30, 0)}, 4);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->median_offset_ns, 20);
}

TEST(OffsetModelTest, RejectsEmptyInputZeroKeepAndInvertedSamples) {
  EXPECT_EQ(estimate_offset({}, 3).error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(estimate_offset({sample(0, 0, 1)}, 0).error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(estimate_offset({sample(10, 0, 5)}, 1).error().code, make_error_code(errc::invalid_argument));
}

TEST(OffsetModelTest, SymmetricPathRecoversTheTrueOffset) {
  ManualTimeSource host(1'700'000'000'000'000'000, 1'000);
  testing::SimulatedGuest guest(host);
  guest.offset_ns = -3'000'123'000;  // µs-aligned: the guest reports µs
  MeasureOptions fixed;
  fixed.max_samples = 0;  // a fixed count: exactly `samples`
  auto e = measure_offset(guest, host, fixed);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->median_offset_ns, -3'000'123'000);
  EXPECT_EQ(e->min_rtt_ns, 300'000);
  EXPECT_EQ(e->samples_taken, 8u);
  EXPECT_EQ(guest.count("guest-get-time"), 8);
}

TEST(OffsetModelTest, AsymmetricPathErrsByHalfTheAsymmetryWithinTheReportedBound) {
  ManualTimeSource host(1'700'000'000'000'000'000, 1'000);
  testing::SimulatedGuest guest(host);
  guest.offset_ns = 5'000'000;
  guest.to_guest_ns = 400'000;
  guest.to_host_ns = 100'000;
  auto e = measure_offset(guest, host, MeasureOptions{});
  ASSERT_TRUE(e.ok());
  const int64_t error = e->median_offset_ns - guest.offset_ns;
  EXPECT_EQ(error, 150'000);  // (400 - 100) / 2 µs: the guest read late
  EXPECT_LE(std::llabs(error), e->asymmetry_bound_ns);
}

// Adaptive sampling: a slow channel gets more chances at one fast exchange.
TEST(OffsetModelTest, AdaptiveSamplingStopsOnceOneExchangeBoundsTheAsymmetry) {
  ManualTimeSource host(1'700'000'000'000'000'000, 1'000);
  testing::SimulatedGuest guest(host);
  guest.offset_ns = 7'000'000;
  guest.rtt_sequence.assign(10, 1'300'000);  // qemu-ga after a migration: ~1.3 ms
  guest.rtt_sequence.push_back(80'000);      // then one fast exchange
  guest.rtt_sequence.push_back(2'000'000);   // never asked for
  MeasureOptions o;  // 8..32 samples, stop at a 50 µs bound
  o.stop_bound_ns = 50'000;
  auto e = measure_offset(guest, host, o);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->samples_taken, 11u);
  EXPECT_EQ(e->min_rtt_ns, 80'000);
  EXPECT_EQ(e->asymmetry_bound_ns, 40'000);
  EXPECT_EQ(e->median_offset_ns, 7'000'000);
}

TEST(OffsetModelTest, AdaptiveSamplingEndsAtItsMaximumOrItsBudget) {
  ManualTimeSource host(1'700'000'000'000'000'000, 1'000);
  testing::SimulatedGuest guest(host);
  guest.to_guest_ns = guest.to_host_ns = 300'000;  // never within the bound
  MeasureOptions o;
  o.max_samples = 20;
  o.budget = std::chrono::milliseconds(1000);
  auto e = measure_offset(guest, host, o);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->samples_taken, 20u);
  // 40 ms round trips: the 250 ms budget is spent after 7, but the minimum
  // of 8 is always taken.
  guest.to_guest_ns = guest.to_host_ns = 20'000'000;
  o.max_samples = 32;
  o.budget = std::chrono::milliseconds(250);
  e = measure_offset(guest, host, o);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->samples_taken, 8u);
}

TEST(OffsetModelTest, GuestErrorReplyAndMalformedReplyBecomeErrors) {
  ManualTimeSource host(1'000'000'000, 0);
  testing::SimulatedGuest guest(host);
  guest.answer_with_error = true;
  auto e = measure_offset(guest, host, MeasureOptions{});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, make_error_code(errc::io_error));
  EXPECT_NE(e.error().message().find("model failure"), std::string::npos);

  EXPECT_EQ(parse_int_return("not json", "x").error().code, make_error_code(errc::malformed_input));
  EXPECT_EQ(parse_int_return(R"({"return": "text"})", "x").error().code, make_error_code(errc::malformed_input));
  EXPECT_EQ(parse_int_return(R"({"neither": 1})", "x").error().code, make_error_code(errc::malformed_input));
  EXPECT_EQ(*parse_int_return(R"({"return": 1795334241444087000})", "x"), 1795334241444087000);
}

TEST(OffsetModelTest, CommandsAreTheQgaJsonQemuGaExpects) {
  EXPECT_EQ(guest_get_time_command(), R"({"execute":"guest-get-time"})");
  EXPECT_EQ(guest_set_time_command(1234567890123456789),
            R"({"execute":"guest-set-time","arguments":{"time":1234567890123456789}})");
  EXPECT_EQ(rtc_reset_reinjection_command(), R"({"execute":"rtc-reset-reinjection"})");
}

}  // namespace
}  // namespace migclock::agent_sync
