// The host TSC rate without /dev/kvm: CPUID leaves (pure), the calibration
// math (pure), a real calibration on this CPU, and the CLI's "kvm absent"
// result. The calibration is checked against KVM_GET_TSC_KHZ where KVM exists.
#include <rapidjson/document.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>

#include "kvm_test_support.hpp"
#include "migclock/kvm/probe.hpp"
#include "migclock/kvm/tsc_frequency.hpp"

namespace migclock::kvm {
namespace {

TEST(TscFrequencyCpuid, Leaf15StatesTheRateFromTheCrystal) {
  CpuidTscLeaves l;
  l.max_leaf = 0x16;
  l.l15_eax = 2, l.l15_ebx = 184, l.l15_ecx = 25'000'000;  // 25 MHz crystal x 92
  l.l16_eax = 2300;
  auto f = tsc_frequency_from_cpuid(l);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->khz, 2'300'000u);
  EXPECT_EQ(f->source, snapshot::TscKhzSource::cpuid);
  EXPECT_NE(f->detail.find("15H"), std::string::npos);
}

TEST(TscFrequencyCpuid, Leaf16IsTheFallBackWhenTheCrystalIsNotEnumerated) {
  CpuidTscLeaves l;
  l.max_leaf = 0x16;
  l.l15_eax = 2, l.l15_ebx = 184, l.l15_ecx = 0;  // crystal not enumerated
  l.l16_eax = 0xABCD'0000u | 2100;                // upper half is reserved
  auto f = tsc_frequency_from_cpuid(l);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->khz, 2'100'000u);
  EXPECT_NE(f->detail.find("16H"), std::string::npos);
}

TEST(TscFrequencyCpuid, ZerosOrMissingLeavesStateNothing) {
  CpuidTscLeaves l;  // max leaf 0
  l.l15_eax = 2, l.l15_ebx = 184, l.l15_ecx = 25'000'000, l.l16_eax = 2300;
  EXPECT_FALSE(tsc_frequency_from_cpuid(l));  // leaves beyond the max are not there
  l = CpuidTscLeaves{};
  l.max_leaf = 0x1c;  // present but zero, as on this project's virtual CPUs
  EXPECT_FALSE(tsc_frequency_from_cpuid(l));
}

TEST(TscFrequencyCalibration, RateAndUncertaintyFromTwoBrackets) {
  // 2.3 GHz over 50 ms, each reading bracketed by 100 ns.
  TscClockPair a{1'000'000, 10'000'000'000, 100};
  TscClockPair b{1'000'000 + 115'000'000, 10'050'000'000, 100};
  auto r = tsc_rate_between(a, b);
  ASSERT_OK(r);
  EXPECT_DOUBLE_EQ(r->khz, 2'300'000.0);
  EXPECT_DOUBLE_EQ(r->uncertainty_ppm, 2.0);  // (50 + 50) ns / 50 ms
  EXPECT_FALSE(tsc_rate_between(b, a));       // backwards
  EXPECT_FALSE(tsc_rate_between(a, a));       // no time passed
}

TEST(TscFrequencyCalibration, MeasuresThisCpusTscPlausibly) {
  auto f = calibrate_tsc_khz(3, 20);
  ASSERT_OK(f);
  EXPECT_EQ(f->source, snapshot::TscKhzSource::calibration);
  EXPECT_GE(f->khz, 100'000u);
  EXPECT_LE(f->khz, 10'000'000u);
  EXPECT_NE(f->detail.find("CLOCK_MONOTONIC_RAW"), std::string::npos);
  EXPECT_FALSE(calibrate_tsc_khz(0, 20));
}

TEST(TscFrequencyCalibration, AgreesWithKvmGetTscKhz) {
  MIGCLOCK_REQUIRE_KVM(sys);
  auto report = probe_host(sys);
  ASSERT_OK(report);
  auto f = calibrate_tsc_khz();
  ASSERT_OK(f);
  // KVM rounds to a kHz and its own calibration is good to a few ppm; the
  // two must agree well inside the ±250 ppm that decides TSC pinning.
  const double ppm = (static_cast<double>(f->khz) - report->host_khz) / report->host_khz * 1e6;
  EXPECT_LT(std::fabs(ppm), 100.0) << "calibrated " << f->khz << " kHz, KVM " << report->host_khz << " kHz";
}

#ifdef MIGCLOCK_CLI
// A device that does not exist stands for a host without KVM, whatever
// this machine has.
TEST(ProbeWithoutKvm, CliReportsKvmAbsentAsAResultWithTheTscRate) {
  const auto [status, out] = testing::run_command(MIGCLOCK_CLI " probe --json --device /nonexistent/kvm 2>&1");
  ASSERT_EQ(status, 0) << out;
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(out.c_str()).HasParseError()) << out;
  EXPECT_STREQ(doc["kvm"].GetString(), "absent");
  EXPECT_NE(std::string(doc["kvm_reason"].GetString()).find("No such file"), std::string::npos) << out;
  EXPECT_STREQ(doc["device"].GetString(), "/nonexistent/kvm");
  const std::string source = doc["tsc_khz_source"].GetString();
  EXPECT_TRUE(source == "cpuid" || source == "calibration") << out;
  EXPECT_GE(doc["host_khz"].GetUint(), 100'000u) << out;
  EXPECT_TRUE(doc["offset_honoured"].IsNull());
  EXPECT_TRUE(doc["masterclock_possible"].IsNull());
}
#endif

}  // namespace
}  // namespace migclock::kvm
