// One failing input per validation rule; each error names its field.
#include <gtest/gtest.h>

#include <functional>

#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/validate.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::serialization {
namespace {

using snapshot::Snapshot;
using testing::sample_snapshot;

struct Case {
  const char* name;
  std::function<void(Snapshot&)> breakit;
  const char* field;
  const char* rule;
};

// Exactly one error, on the expected field and rule.
class Rule : public ::testing::TestWithParam<Case> {};

TEST_P(Rule, BreakingItGivesExactlyThatError) {
  Snapshot s = sample_snapshot(4);
  ASSERT_TRUE(validate(s).empty());
  GetParam().breakit(s);
  auto errors = validate(s);
  ASSERT_EQ(errors.size(), 1u) << (errors.empty() ? "no error" : errors[0].to_string() + " ... " + errors.back().to_string());
  EXPECT_EQ(errors[0].field, GetParam().field);
  EXPECT_EQ(errors[0].rule, GetParam().rule);
  EXPECT_FALSE(errors[0].message.empty());
  auto status = validate_status(s);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, make_error_code(errc::validation_failed));
  EXPECT_NE(status.error().context.find(GetParam().field), std::string::npos);
}

using snapshot::kClockHostTsc;
using snapshot::kClockRealtime;
using snapshot::kClockTscStable;

const Case kCases[] = {
    // vCPU ids unique and contiguous
    {"EmptyVcpus", [](Snapshot& s) { s.vcpus.clear(); }, "vcpus", "vcpu_count"},
    {"DuplicateId", [](Snapshot& s) { s.vcpus[3].id = 2; }, "vcpus[3].id", "unique_vcpu_id"},
    {"GapInIds", [](Snapshot& s) { s.vcpus[3].id = 7; }, "vcpus", "contiguous_vcpu_ids"},
    // frequencies > 0 and plausible
    {"ZeroGuestKhz", [](Snapshot& s) { s.vcpus[2].tsc_khz = 0; }, "vcpus[2].tsc_khz", "positive_frequency"},
    {"ImplausibleGuestKhz", [](Snapshot& s) { s.vcpus[1].tsc_khz = 50'000'000; }, "vcpus[1].tsc_khz", "plausible_frequency"},
    {"TinyGuestKhz", [](Snapshot& s) { s.vcpus[0].tsc_khz = 1000; }, "vcpus[0].tsc_khz", "plausible_frequency"},
    {"ZeroHostKhz", [](Snapshot& s) { s.host.tsc_khz = 0; }, "host.tsc_khz", "positive_frequency"},
    {"ImplausibleHostKhz", [](Snapshot& s) { s.host.tsc_khz = 20; }, "host.tsc_khz", "plausible_frequency"},
    // frac bits in {0, 32, 48}, ratio consistent
    {"FracBits40", [](Snapshot& s) { s.vcpus[1].tsc_scaling_frac_bits = 40; }, "vcpus[1].tsc_scaling_frac_bits", "frac_bits"},
    {"ZeroRatio", [](Snapshot& s) { s.vcpus[0].tsc_scaling_ratio = 0; }, "vcpus[0].tsc_scaling_ratio", "ratio_consistent"},
    {"NoFracBitsRatioNotOne", [](Snapshot& s) { s.vcpus[3].tsc_scaling_frac_bits = 0; s.vcpus[3].tsc_scaling_ratio = 2; },
     "vcpus[3].tsc_scaling_ratio", "ratio_consistent"},
    {"RatioDisagreesWithFrequencies", [](Snapshot& s) { s.vcpus[2].tsc_scaling_ratio = 3ull << 47; },
     "vcpus[2].tsc_scaling_ratio", "ratio_consistent"},
    {"ScaledWithoutHostSupport",
     [](Snapshot& s) {
       s.host.scaling_supported = false;
       s.vcpus[2].tsc_khz = s.host.tsc_khz / 2;
       s.vcpus[2].tsc_scaling_ratio = 1ull << 47;
     },
     "vcpus[2].tsc_scaling_ratio", "ratio_consistent"},
    // flags consistent with realtime / host_tsc
    {"RealtimeFlagWithoutValue", [](Snapshot& s) { s.clock.realtime_ns = 0; }, "clock.realtime_ns", "flag_consistency"},
    {"RealtimeValueWithoutFlag", [](Snapshot& s) { s.clock.flags &= ~kClockRealtime; }, "clock.realtime_ns", "flag_consistency"},
    {"HostTscFlagWithoutValue", [](Snapshot& s) { s.clock.host_tsc = 0; }, "clock.host_tsc", "flag_consistency"},
    {"HostTscValueWithoutFlag", [](Snapshot& s) { s.clock.flags &= ~kClockHostTsc; }, "clock.host_tsc", "flag_consistency"},
    {"UnknownClockFlag", [](Snapshot& s) { s.clock.flags |= 1u << 0; }, "clock.flags", "known_flags"},
    {"MasterclockDisagreesWithFlags", [](Snapshot& s) { s.clock.flags &= ~kClockTscStable; }, "masterclock.state", "flag_consistency"},
    // PIT modes 0-5, counts <= 65536
    {"PitMode6", [](Snapshot& s) { s.pit.channels[1].mode = 6; }, "pit.channels[1].mode", "pit_mode"},
    {"PitCount65537", [](Snapshot& s) { s.pit.channels[0].count = 65537; }, "pit.channels[0].count", "pit_count"},
    {"PitGate2", [](Snapshot& s) { s.pit.channels[2].gate = 2; }, "pit.channels[2].gate", "pit_flag"},
    {"PitBcd3", [](Snapshot& s) { s.pit.channels[0].bcd = 3; }, "pit.channels[0].bcd", "pit_flag"},
    // timestamps non-zero
    {"ZeroCaptureRealtime", [](Snapshot& s) { s.captured.realtime_ns = 0; }, "captured.realtime_ns", "nonzero_timestamp"},
    {"NegativeCaptureMonotonic", [](Snapshot& s) { s.captured.monotonic_raw_ns = -1; }, "captured.monotonic_raw_ns", "nonzero_timestamp"},
    {"ZeroKvmclock", [](Snapshot& s) { s.clock.clock_ns = 0; }, "clock.clock_ns", "nonzero_timestamp"},
    {"ZeroRtcDate", [](Snapshot& s) { s.rtc.date_unix_s = 0; }, "rtc.date_unix_s", "nonzero_timestamp"},
    {"ZeroGuestNs", [](Snapshot& s) { s.guest_time->guest_ns = 0; }, "guest_time.guest_ns", "nonzero_timestamp"},
    {"ZeroGuestHostMid", [](Snapshot& s) { s.guest_time->host_mid_ns = 0; }, "guest_time.host_mid_ns", "nonzero_timestamp"},
    {"NegativeGuestRtt", [](Snapshot& s) { s.guest_time->rtt_ns = -3; }, "guest_time.rtt_ns", "non_negative"},
    // strings bounded (and present, printable)
    {"LongVmName", [](Snapshot& s) { s.vm.name = std::string(kMaxStringBytes + 1, 'a'); }, "vm.name", "bounded_string"},
    {"LongClocksource", [](Snapshot& s) { s.host.clocksource = std::string(1000, 'c'); }, "host.clocksource", "bounded_string"},
    {"LongRtcSource", [](Snapshot& s) { s.rtc.source = std::string(300, 'r'); }, "rtc.source", "bounded_string"},
    {"ControlCharInBootId", [](Snapshot& s) { s.host.boot_id = "abc\ndef"; }, "host.boot_id", "printable_string"},
    // strings are well-formed UTF-8 (adjacent literals keep hex escapes short)
    {"InvalidByteInVmName", [](Snapshot& s) { s.vm.name = "gold\xFF" "en"; }, "vm.name", "utf8_string"},
    {"OverlongSlashInHostname", [](Snapshot& s) { s.host.hostname = "h\xC0\xAF" "st"; }, "host.hostname", "utf8_string"},
    {"SurrogateInClocksource", [](Snapshot& s) { s.host.clocksource = "ts\xED\xA0\x80" "c"; }, "host.clocksource",
     "utf8_string"},
    {"BeyondU10FFFFInUuid", [](Snapshot& s) { s.vm.uuid = "\xF4\x90\x80\x80"; }, "vm.uuid", "utf8_string"},
    {"TruncatedSequenceInRtcSource", [](Snapshot& s) { s.rtc.source = "qmp\xE2\x82"; }, "rtc.source", "utf8_string"},
    {"C1ControlInSoftwareVersion", [](Snapshot& s) { s.software_version = "0.1\xC2\x85"; }, "software_version",
     "printable_string"},
    {"NoHostname", [](Snapshot& s) { s.host.hostname.clear(); }, "host.hostname", "required"},
    {"NoSoftwareVersion", [](Snapshot& s) { s.software_version.clear(); }, "software_version", "required"},
    {"NoVmIdentity", [](Snapshot& s) { s.vm.uuid.clear(); s.vm.name.clear(); }, "vm", "identity"},
    // enums set in memory to values outside the enum
    {"BadSourceEnum", [](Snapshot& s) { s.source = static_cast<snapshot::CaptureSource>(7); }, "source", "known_enum"},
    {"BadOffsetHonouredEnum", [](Snapshot& s) { s.host.offset_honoured = static_cast<snapshot::OffsetHonoured>(9); },
     "host.offset_honoured", "known_enum"},
    {"BadTscKhzSourceEnum", [](Snapshot& s) { s.host.tsc_khz_source = static_cast<snapshot::TscKhzSource>(6); },
     "host.tsc_khz_source", "known_enum"},
    {"BadKvmPresenceEnum", [](Snapshot& s) { s.host.kvm = static_cast<snapshot::KvmPresence>(3); }, "host.kvm",
     "known_enum"},
    // format 1.1: "unknown" must mean it
    {"FrequencyGivenButSourceUnknown", [](Snapshot& s) { s.host.tsc_khz_source = snapshot::TscKhzSource::unknown; },
     "host.tsc_khz", "unknown_frequency"},
    {"OwnedVmmFromAHostWithoutKvm", [](Snapshot& s) { s.host.kvm = snapshot::KvmPresence::absent; }, "host.kvm",
     "kvm_consistency"},
    {"ZeroHostKhzFromAKnownSource",
     [](Snapshot& s) {
       s.host.tsc_khz_source = snapshot::TscKhzSource::calibration;
       s.host.tsc_khz = 0;
     },
     "host.tsc_khz", "positive_frequency"},
};

INSTANTIATE_TEST_SUITE_P(Validation, Rule, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Validation, SampleAndGoldenAreValid) {
  EXPECT_TRUE(validate(sample_snapshot(1)).empty());
  EXPECT_TRUE(validate(sample_snapshot(kMaxVcpus)).empty());
  EXPECT_TRUE(validate(testing::golden_v1_snapshot()).empty());
  EXPECT_TRUE(validate(testing::golden_v1_1_snapshot()).empty());
}

// Format 1.1: a libvirt/QEMU capture on a host that could not learn its TSC
// frequency is valid when it says so; the vCPUs' rates are unknown with it.
TEST(Validation, AnExplicitlyUnknownFrequencyIsNotAFailure) {
  Snapshot s = sample_snapshot(2);
  s.source = snapshot::CaptureSource::libvirt_qemu;
  s.host.kvm = snapshot::KvmPresence::absent;
  s.host.tsc_khz_source = snapshot::TscKhzSource::unknown;
  s.host.tsc_khz = 0;
  for (auto& v : s.vcpus) {
    v.tsc_khz = 0;
    v.tsc_scaling_ratio = 1ull << v.tsc_scaling_frac_bits;
  }
  s.host.scaling_supported = false;
  EXPECT_TRUE(validate(s).empty()) << validate(s)[0].to_string();
  // An owned VMM always knows its vCPUs' rate (KVM_GET_TSC_KHZ).
  s.source = snapshot::CaptureSource::owned_vmm;
  s.host.kvm = snapshot::KvmPresence::present;
  auto errors = validate(s);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "vcpus[0].tsc_khz");
  EXPECT_EQ(errors[0].rule, "positive_frequency");
}

TEST(Validation, WellFormedUtf8IsAccepted) {
  Snapshot s = sample_snapshot(1);
  s.vm.name = "g\xC3\xA4st-\xE6\x97\xB6\xE9\x92\x9F";     // "gäst-时钟"
  s.host.hostname = "h\xF0\x9F\x95\x90" "st";              // U+1F550
  s.rtc.source = "\xF4\x8F\xBF\xBF \xEF\xBF\xBD \xC2\xA0";  // U+10FFFF, U+FFFD, U+00A0
  EXPECT_TRUE(validate(s).empty()) << validate(s)[0].to_string();
}

TEST(Validation, ControlCharactersAndBadUtf8InOneStringAreBothReported) {
  Snapshot s = sample_snapshot(1);
  s.vm.name = "a\tb\xFF";
  auto errors = validate(s);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].rule, "printable_string");
  EXPECT_EQ(errors[1].rule, "utf8_string");
  EXPECT_NE(errors[1].message.find("offset 3"), std::string::npos) << errors[1].message;
}

TEST(Validation, AbsentPitAndRtcAreNotChecked) {
  Snapshot s = sample_snapshot(2);
  s.pit.present = false;
  s.pit.channels[0].mode = 9;
  s.rtc.present = false;
  s.rtc.date_unix_s = 0;
  s.guest_time.reset();
  EXPECT_TRUE(validate(s).empty());
}

TEST(Validation, EveryBrokenRuleIsReportedNotJustTheFirst) {
  Snapshot s = sample_snapshot(3);
  s.vcpus[0].tsc_khz = 0;
  s.vcpus[2].tsc_scaling_frac_bits = 7;
  s.pit.channels[1].mode = 8;
  s.captured.realtime_ns = 0;
  auto errors = validate(s);
  ASSERT_EQ(errors.size(), 4u);
}

TEST(Validation, LibvirtObservationMayLackTheClockTuple) {
  Snapshot s = sample_snapshot(2);
  s.source = snapshot::CaptureSource::libvirt_qemu;
  s.clock = {};  // QEMU owns the VM: no KVM_GET_CLOCK
  s.masterclock.evidence = snapshot::MasterclockEvidence::tracefs;
  EXPECT_TRUE(validate(s).empty());
  s.clock.flags = snapshot::kClockRealtime;  // a partial tuple is not "absent"
  auto errors = validate(s);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "clock.clock_ns");
  EXPECT_EQ(errors[1].field, "clock.realtime_ns");
}

TEST(Validation, TooManyVcpus) {
  Snapshot s = sample_snapshot(kMaxVcpus + 1);
  auto errors = validate(s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "vcpus");
  EXPECT_EQ(errors[0].rule, "vcpu_count");
}

TEST(Validation, RatioWithin1PercentIsConsistent) {
  Snapshot s = sample_snapshot(1);
  s.vcpus[0].tsc_khz = s.host.tsc_khz / 2 + 5;  // scaled to about half
  s.vcpus[0].tsc_scaling_ratio = 1ull << 47;
  EXPECT_TRUE(validate(s).empty());
  s.vcpus[0].tsc_scaling_frac_bits = 32;  // AMD-style
  s.vcpus[0].tsc_scaling_ratio = 1ull << 31;
  EXPECT_TRUE(validate(s).empty());
}

}  // namespace
}  // namespace migclock::serialization
