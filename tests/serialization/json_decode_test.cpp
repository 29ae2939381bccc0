// The JSON decoder refuses bad text with an error that says why, and never
// throws or crashes.
#include <gtest/gtest.h>

#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::serialization {
namespace {

using testing::sample_snapshot;

std::string valid_json() { return *encode(sample_snapshot(2), Format::json); }

// Replaces the first occurrence of `from` (which must exist).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

void expect_error(const std::string& text, errc code, const std::string& fragment) {
  auto r = decode(text, Format::json);
  ASSERT_FALSE(r.ok()) << "decoded: " << text.substr(0, 200);
  EXPECT_EQ(r.error().code, make_error_code(code)) << r.error().message();
  EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
}

TEST(JsonDecode, SyntaxErrorsNameTheOffset) {
  expect_error("{\"format\": ", errc::malformed_input, "parse error at offset");
  expect_error("", errc::malformed_input, "parse error");
  expect_error(valid_json().substr(0, 300), errc::malformed_input, "parse error");
}

TEST(JsonDecode, NonIntegerNumbersAreRefusedBeforeCerealParses) {
  expect_error(replaced(valid_json(), "\"clock_ns\": 12345678901", "\"clock_ns\": 1.5"), errc::malformed_input,
               "is not an integer within 64 bits");
  expect_error(replaced(valid_json(), "\"clock_ns\": 12345678901", "\"clock_ns\": 1e3"), errc::malformed_input,
               "is not an integer within 64 bits");
  expect_error(replaced(valid_json(), "\"clock_ns\": 12345678901", "\"clock_ns\": NaN"), errc::malformed_input,
               "parse error");
  // Found by fuzz_snapshot_json: an integer beyond 64 bits sent rapidjson
  // 1.1's full-precision strtod into clz(0) (undefined behaviour).
  expect_error("{\n  \"fo(r}at\": \"migclockshot\",\n   \"cerea\": 1844674407370955161550}\n", errc::malformed_input,
               "is not an integer within 64 bits");
}

TEST(JsonDecode, RootMustBeAnObject) {
  expect_error("[1, 2, 3]", errc::malformed_input, "must be an object");
  expect_error("42", errc::malformed_input, "must be an object");
}

TEST(JsonDecode, DeepNestingIsRefusedBeforeCerealRecursesIntoIt) {
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_error(deep, errc::malformed_input, "nested deeper than");
}

TEST(JsonDecode, WrongFormatName) {
  expect_error(replaced(valid_json(), "\"migclock.snapshot\"", "\"other.thing\""), errc::malformed_input,
               "\"format\" is \"other.thing\"");
  expect_error("{}", errc::malformed_input, "format");
}

TEST(JsonDecode, VersionSkew) {
  expect_error(replaced(valid_json(), "\"format_major\": 1", "\"format_major\": 2"), errc::version_mismatch,
               "format version 2.1 has a different major");
  expect_error(replaced(valid_json(), "\"format_minor\": 1", "\"format_minor\": 2"), errc::version_mismatch,
               "format version 1.2 is newer");
  expect_error(replaced(valid_json(), "\"cereal_class_version\": 1,\n  \"vm\"", "\"cereal_class_version\": 7,\n  \"vm\""),
               errc::version_mismatch, "Snapshot: class version 7");
}

TEST(JsonDecode, MissingFieldIsNamed) {
  expect_error(replaced(valid_json(), "\"clock_ns\"", "\"clock_nanos\""), errc::malformed_input,
               "clock.clock_ns: JSON Parsing failed - provided NVP (clock_ns) not found");
}

TEST(JsonDecode, WrongTypeNamesTheField) {
  expect_error(replaced(valid_json(), "\"clock_ns\": 12345678901", "\"clock_ns\": \"soon\""),
               errc::malformed_input, "clock.clock_ns: ");
  expect_error(replaced(valid_json(), "\"tsc_khz\": 2995200", "\"tsc_khz\": -5"), errc::malformed_input,
               "host.tsc_khz: ");
  expect_error(replaced(valid_json(), "\"tsc_khz\": 2995200", "\"tsc_khz\": 99999999999"), errc::malformed_input,
               "tsc_khz");
  expect_error(replaced(valid_json(), "\"vcpus\": [", "\"vcpus\": {\"x\": 1}, \"ignored\": ["), errc::malformed_input,
               "vcpus");
}

TEST(JsonDecode, NarrowIntegersAreRangeCheckedNotTruncated) {
  // PitChannel::mode is a uint8_t: 261 must not become 5.
  expect_error(replaced(valid_json(), "\"mode\": 2", "\"mode\": 261"), errc::malformed_input,
               "pit.channels[0].mode: 261 does not fit in 8 bits");
  expect_error(replaced(valid_json(), "\"latched_count\": 100", "\"latched_count\": 70000"), errc::malformed_input,
               "pit.channels[0].latched_count: 70000 does not fit in 16 bits");
}

TEST(JsonDecode, UnknownEnumNameListsTheChoices) {
  expect_error(replaced(valid_json(), "\"state\": \"active\"", "\"state\": \"sideways\""), errc::malformed_input,
               "masterclock.state: unknown value \"sideways\" (expected unknown|active|inactive)");
  expect_error(replaced(valid_json(), "\"source\": \"owned_vmm\"", "\"source\": 1"), errc::malformed_input,
               "source");
}

TEST(JsonDecode, TooManyVcpusIsRefused) {
  auto s = sample_snapshot(kMaxVcpus);
  std::string text = *encode(s, Format::json);
  // Splice one more element in: copy vcpus[1]'s object after vcpus[0].
  auto second = text.find("{\n      \"id\": 1,");
  auto end = text.find("}", second);
  ASSERT_NE(second, std::string::npos);
  text.insert(second, text.substr(second, end - second + 1) + ",\n    ");
  expect_error(text, errc::malformed_input, "vcpus: declared length 1025 exceeds the limit of 1024");
}

TEST(JsonDecode, ErrorsInsideListsNameTheElement) {
  auto text = *encode(sample_snapshot(3), Format::json);
  auto third = text.find("\"id\": 2,");
  ASSERT_NE(third, std::string::npos);
  auto khz = text.find("\"tsc_khz\": 2995200", third);
  text.replace(khz, 18, "\"tsc_khz\": true");
  expect_error(text, errc::malformed_input, "vcpus[2].tsc_khz: ");
}

TEST(JsonDecode, PitMustHaveExactlyThreeChannels) {
  std::string text = valid_json();
  auto channels = text.find("\"channels\": [");
  ASSERT_NE(channels, std::string::npos);
  text.insert(channels + 13, "{\"count\": 0},");
  expect_error(text, errc::malformed_input, "pit.channels: 4 entries, expected 3");
}

TEST(JsonDecode, OversizedInputIsRefusedUnread) {
  std::string huge(kMaxEncodedBytes + 1, ' ');
  expect_error(huge, errc::too_large, "exceed the limit");
}

TEST(JsonDecode, BinaryGivenAsJsonIsMalformed) {
  expect_error(*encode(sample_snapshot(1), Format::binary), errc::malformed_input, "parse error");
}

// cereal's JSON reader would cut "gold\u0000en" to "gold"; the binary
// form keeps the NUL and validation refuses it (printable_string), so the
// JSON form must not turn it into a valid name.
TEST(JsonDecode, NulInAStringIsRefusedNotTruncated) {
  expect_error(replaced(valid_json(), "\"name\": \"guest-a\"", "\"name\": \"gold\\u0000en\""),
               errc::malformed_input, "snapshot JSON: vm.name: the string contains a NUL character");
  // in an enum name, and in the format name (which cereal would then match)
  expect_error(replaced(valid_json(), "\"source\": \"owned_vmm\"", "\"source\": \"owned_vmm\\u0000x\""),
               errc::malformed_input, "snapshot JSON: source: the string contains a NUL");
  expect_error(replaced(valid_json(), "\"migclock.snapshot\"", "\"migclock.snapshot\\u0000v2\""),
               errc::malformed_input, "snapshot JSON: format: the string contains a NUL");
}

TEST(JsonDecode, NulInAKeyIsAnUnknownKey) {
  // cereal compares keys as C strings: "clock_ns\u0000x" would match clock_ns.
  expect_error(replaced(valid_json(), "\"clock_ns\"", "\"clock_ns\\u0000x\""), errc::malformed_input,
               "snapshot JSON: clock.clock_ns\\x00x: unknown key");
}

TEST(JsonDecode, DuplicateKeysAreRefused) {
  // cereal would silently take one of the two values.
  expect_error(replaced(valid_json(), "\"clock_ns\": 12345678901", "\"clock_ns\": 1, \"clock_ns\": 12345678901"),
               errc::malformed_input, "snapshot JSON: clock.clock_ns: duplicate key");
  expect_error(replaced(valid_json(), "\"software_version\"", "\"vm\": {}, \"software_version\""),
               errc::malformed_input, "snapshot JSON: vm: duplicate key");
  auto text = *encode(sample_snapshot(3), Format::json);
  auto third = text.find("\"id\": 2,");
  ASSERT_NE(third, std::string::npos);
  text.insert(third, "\"msr_tsc\": 5, ");
  expect_error(text, errc::malformed_input, "snapshot JSON: vcpus[2].msr_tsc: duplicate key");
}

// A document that says format 1.1 holds exactly the keys of 1.1: a newer
// writer says 1.2 (refused by version), so an extra key is a typo or
// tampering, and ignoring it would drop data from a "lossless" conversion.
TEST(JsonDecode, UnknownKeysAreRefusedNamingThePath) {
  expect_error(replaced(valid_json(), "\"software_version\"", "\"comment\": \"hi\", \"software_version\""),
               errc::malformed_input, "snapshot JSON: comment: unknown key (format 1.1 has no such field)");
  expect_error(replaced(valid_json(), "\"clock_ns\"", "\"clock_nanos\": 5, \"clock_ns\""), errc::malformed_input,
               "snapshot JSON: clock.clock_nanos: unknown key");
  expect_error(replaced(valid_json(), "\"present\": true,\n    \"value\": {",
                        "\"present\": true,\n    \"value\": {\"leap_s\": 1,"),
               errc::malformed_input, "snapshot JSON: guest_time.value.leap_s: unknown key");
  // An object where the schema has a number: its keys are unknown too.
  expect_error(replaced(valid_json(), "\"flags\": 14", "\"flags\": {\"x\": 14}"), errc::malformed_input,
               "clock.flags");
}

TEST(JsonDecode, ClassVersionOnlyInTheFirstObjectOfAType) {
  // cereal reads vcpus[0]'s and would ignore one in vcpus[1].
  auto text = *encode(sample_snapshot(2), Format::json);
  auto second = text.find("\"id\": 1,");
  ASSERT_NE(second, std::string::npos);
  text.insert(second, "\"cereal_class_version\": 7, ");
  expect_error(text, errc::malformed_input, "snapshot JSON: vcpus[1].cereal_class_version: unknown key");
}

TEST(JsonDecode, VersionErrorsComeBeforeUnknownKeys) {
  // A newer minor's new fields are unknown here; the version says why.
  std::string text = replaced(valid_json(), "\"format_minor\": 1", "\"format_minor\": 2");
  text = replaced(text, "\"clock_ns\"", "\"clock_tai_ns\": 5, \"clock_ns\"");
  expect_error(text, errc::version_mismatch, "format version 1.2 is newer");
}

TEST(JsonDecode, AbsentGuestTimeNeedsNoValueKey) {
  auto s = sample_snapshot(1);
  s.guest_time.reset();
  auto text = *encode(s, Format::json);
  EXPECT_NE(text.find("\"guest_time\": {\n    \"present\": false\n  }"), std::string::npos) << text;
  auto r = decode(text, Format::json);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(r->guest_time.has_value());
}

TEST(JsonDecode, KeyOrderDoesNotMatter) {
  // People and other tools may reorder keys: move "vm" to the end.
  std::string text = valid_json();
  auto vm = text.find("  \"vm\": {");
  auto vm_end = text.find("},\n", vm) + 3;
  std::string vm_block = text.substr(vm, vm_end - vm);
  text.erase(vm, vm_end - vm);
  auto last = text.rfind('}');
  text.insert(last, ",\n" + vm_block.substr(0, vm_block.size() - 2) + "\n");
  auto r = decode(text, Format::json);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->vm.name, "guest-a");
}

}  // namespace
}  // namespace migclock::serialization
