// Both archives give back exactly what went in, up to the largest sizes.
#include <gtest/gtest.h>

#include <cereal/archives/json.hpp>
#include <rapidjson/document.h>

#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/summary.hpp"
#include "migclock/serialization/validate.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::serialization {
namespace {

using testing::first_difference;
using testing::sample_snapshot;

class RoundTrip : public ::testing::TestWithParam<Format> {};

TEST_P(RoundTrip, SampleIsValueEqual) {
  const auto original = sample_snapshot(4);
  ASSERT_TRUE(validate(original).empty());
  auto bytes = encode(original, GetParam());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  auto back = decode(*bytes, GetParam());
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(first_difference(original, *back), "");
}

TEST_P(RoundTrip, FiveHundredTwelveVcpus) {
  const auto original = sample_snapshot(512);
  auto bytes = encode(original, GetParam());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  auto back = decode(*bytes, GetParam());
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->vcpus.size(), 512u);
  EXPECT_EQ(first_difference(original, *back), "");
  EXPECT_TRUE(validate(*back).empty());
}

TEST_P(RoundTrip, MaximumVcpusAndExtremeValues) {
  auto original = sample_snapshot(kMaxVcpus);
  original.vcpus.back().tsc_offset = UINT64_MAX;
  original.vcpus.back().msr_tsc = UINT64_MAX;
  original.captured.realtime_ns = INT64_MAX;
  original.pit.channels[1].count_load_time = INT64_MIN;
  original.vm.name = std::string(256, 'n');
  original.guest_time.reset();
  original.pit.present = false;
  auto bytes = encode(original, GetParam());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  auto back = decode(*bytes, GetParam());
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(first_difference(original, *back), "");
}

TEST_P(RoundTrip, DefaultSnapshotSurvivesEvenThoughInvalid) {
  snapshot::Snapshot empty;
  auto bytes = encode(empty, GetParam());
  ASSERT_TRUE(bytes.ok());
  auto back = decode(*bytes, GetParam());
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(first_difference(empty, *back), "");
  EXPECT_FALSE(validate(*back).empty());  // decode does not validate; validate does
}

TEST_P(RoundTrip, EncodeRefusesWhatDecodeWouldRefuse) {
  auto too_many = sample_snapshot(kMaxVcpus + 1);
  auto bytes = encode(too_many, GetParam());
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, make_error_code(errc::too_large));
}

TEST_P(RoundTrip, EncodingIsDeterministic) {
  auto a = encode(sample_snapshot(8), GetParam());
  auto b = encode(sample_snapshot(8), GetParam());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

INSTANTIATE_TEST_SUITE_P(Archives, RoundTrip, ::testing::Values(Format::json, Format::binary),
                         [](const auto& param_info) { return std::string(format_name(param_info.param)); });

TEST(JsonShape, KeysOtherComponentsReadAreStructFieldNames) {
  auto json = encode(sample_snapshot(3), Format::json);
  ASSERT_TRUE(json.ok());
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(json->c_str()).HasParseError());
  EXPECT_STREQ(doc["format"].GetString(), "migclock.snapshot");
  EXPECT_EQ(doc["format_major"].GetUint(), kFormatMajor);
  EXPECT_EQ(doc["clock"]["clock_ns"].GetUint64(), 12'345'678'901u);
  EXPECT_EQ(doc["clock"]["realtime_ns"].GetUint64(), 1'795'000'000'123'400'000u);
  EXPECT_EQ(doc["clock"]["host_tsc"].GetUint64(), 0xF123'4567'89AB'CDEFull);  // exact above 2^53
  ASSERT_TRUE(doc["vcpus"].IsArray());
  ASSERT_EQ(doc["vcpus"].Size(), 3u);
  EXPECT_EQ(doc["vcpus"][2]["tsc_offset"].GetUint64(), 0xFFFF'FF00'0000'0000ull - 2);
  EXPECT_EQ(doc["vcpus"][2]["id"].GetUint(), 2u);
  EXPECT_STREQ(doc["masterclock"]["state"].GetString(), "active");  // enums as names
  EXPECT_STREQ(doc["source"].GetString(), "owned_vmm");
  EXPECT_TRUE(doc["pit"]["channels"].IsArray());
  EXPECT_TRUE(doc["guest_time"]["present"].GetBool());
}

TEST(Summary, NamesTheVmAndSurvivesExtremeValues) {
  auto s = sample_snapshot(2);
  EXPECT_NE(describe(s).find("guest-a"), std::string::npos);
  s.rtc.date_unix_s = INT64_MAX;  // would overflow a naive s -> ns conversion
  s.guest_time->guest_ns = INT64_MIN;
  s.guest_time->host_mid_ns = INT64_MAX;
  s.captured.realtime_ns = INT64_MIN;
  s.vcpus[0].tsc_scaling_frac_bits = 200;
  s.host.hostname = std::string(70000, 'h');
  const std::string text = describe(s);
  EXPECT_NE(text.find("rtc:              - ("), std::string::npos) << text.substr(0, 2000);
}

TEST(BinarySize, FourVcpusFitInOneKibibyte) {
  auto bytes = encode(sample_snapshot(4), Format::binary);
  ASSERT_TRUE(bytes.ok());
  EXPECT_LE(bytes->size(), 1024u) << "the issue's size target for a 4-vCPU binary snapshot";
}

}  // namespace
}  // namespace migclock::serialization
