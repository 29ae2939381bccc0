// The real `migclock snapshot` binary on valid, corrupted, truncated,
// version-skewed and invalid files: exit codes, stdout and stderr.
#include <gtest/gtest.h>

#include <cereal/archives/json.hpp>
#include <rapidjson/document.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>

#include "migclock/serialization/envelope.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::serialization {
namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    good_ = testing::sample_snapshot(4);
    ASSERT_TRUE(save_file(path("good.mcs"), good_).ok());
    ASSERT_TRUE(save_file(path("good.json"), good_).ok());
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }

  CliRun run(const std::string& args) {
    // A hang (say, on a FIFO) fails the test (status 124) instead of the suite.
    const std::string cmd = std::string("timeout 60 '") + MIGCLOCK_BINARY + "' snapshot " + args + " >'" +
                            path("stdout") + "' 2>'" + path("stderr") + "'";
    int status = std::system(cmd.c_str());
    CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(path("stdout"));
    r.err = slurp(path("stderr"));
    return r;
  }

  std::string good_binary() { return slurp(path("good.mcs")); }

  testing::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
  snapshot::Snapshot good_;
};

bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

TEST_F(Cli, HelpExitsZero) {
  CliRun r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.out, "inspect FILE"));
  EXPECT_TRUE(has(r.out, "convert IN OUT"));
  EXPECT_EQ(run("validate --help").code, 0);
}

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run("frobnicate x.json").code, 2);
  EXPECT_EQ(run("inspect").code, 2);
  CliRun r = run("validate --bogus " + path("good.json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "unknown option --bogus"));
}

TEST_F(Cli, InspectValidBinaryPrintsASummary) {
  CliRun r = run("inspect " + path("good.mcs"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "guest-a")) << r.out;
  EXPECT_TRUE(has(r.out, "format 1.1"));
  EXPECT_TRUE(has(r.out, "vcpus:            4"));
  EXPECT_TRUE(has(r.out, "TSC_STABLE|REALTIME|HOST_TSC"));
  EXPECT_TRUE(has(r.out, "-1099511627776")) << "offsets mod 2^64 are shown signed";
  EXPECT_TRUE(has(r.out, "1.000000/48")) << "the scaling ratio as a number";
  EXPECT_TRUE(has(r.out, "2026-11-18T")) << "realtime as a UTC date";
  EXPECT_TRUE(has(r.out, "validation:       ok"));
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, InspectJsonIsOneParsableObject) {
  CliRun r = run("inspect --json " + path("good.mcs"));
  ASSERT_EQ(r.code, 0) << r.err;
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(r.out.c_str()).HasParseError()) << r.out;
  EXPECT_TRUE(doc["valid"].GetBool());
  EXPECT_STREQ(doc["format"].GetString(), "binary");
  EXPECT_STREQ(doc["format_version"].GetString(), "1.1");
  EXPECT_EQ(doc["snapshot"]["vcpus"].Size(), 4u);
  EXPECT_EQ(doc["snapshot"]["clock"]["clock_ns"].GetUint64(), good_.clock.clock_ns);
}

TEST_F(Cli, ValidateGoodFilesExitsZero) {
  for (const char* name : {"good.mcs", "good.json"}) {
    CliRun r = run(std::string("validate ") + path(name));
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "valid")) << r.out;
  }
}

TEST_F(Cli, CorruptedFileFailsWithChecksumMessage) {
  std::string bytes = good_binary();
  bytes[bytes.size() / 2] ^= 0x10;
  write("corrupt.mcs", bytes);
  for (const char* verb : {"validate ", "inspect "}) {
    CliRun r = run(verb + path("corrupt.mcs"));
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(has(r.err, "checksum mismatch")) << r.err;
  }
}

TEST_F(Cli, TruncatedFilesFail) {
  std::string bytes = good_binary();
  write("cut.mcs", bytes.substr(0, bytes.size() - 7));
  CliRun r = run("validate " + path("cut.mcs"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "truncated")) << r.err;
  write("tiny.mcs", bytes.substr(0, 5));
  r = run("validate " + path("tiny.mcs"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "shorter than the 20-byte header")) << r.err;
  write("cut.json", slurp(path("good.json")).substr(0, 500));
  r = run("validate " + path("cut.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "parse error")) << r.err;
}

TEST_F(Cli, VersionSkewedFilesFail) {
  std::string bytes = good_binary();
  auto header = *read_envelope_header(bytes);
  header.minor = kFormatMinor + 1;
  write("newer.mcs", encode_envelope_header(header) + bytes.substr(kEnvelopeHeaderBytes));
  CliRun r = run("validate " + path("newer.mcs"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "format version 1.2 is newer than this build's 1.1")) << r.err;
  header.major = 2;
  header.minor = 0;
  write("major.mcs", encode_envelope_header(header) + bytes.substr(kEnvelopeHeaderBytes));
  r = run("inspect " + path("major.mcs"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "format version 2.0 has a different major")) << r.err;
  std::string json = slurp(path("good.json"));
  json.replace(json.find("\"format_major\": 1"), 17, "\"format_major\": 3");
  write("major.json", json);
  r = run("validate " + path("major.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "format version 3.1")) << r.err;
}

TEST_F(Cli, InvalidSnapshotListsEveryRule) {
  auto bad = good_;
  bad.vcpus[2].tsc_khz = 0;
  bad.pit.channels[0].mode = 7;
  ASSERT_TRUE(save_file(path("invalid.json"), bad).ok());
  CliRun r = run("validate " + path("invalid.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "2 validation errors")) << r.err;
  EXPECT_TRUE(has(r.err, "vcpus[2].tsc_khz: must be > 0 [positive_frequency]")) << r.err;
  EXPECT_TRUE(has(r.err, "pit.channels[0].mode")) << r.err;
  // inspect still shows what it could read, and fails.
  r = run("inspect " + path("invalid.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.out, "validation:       FAILED"));
  r = run("validate --json " + path("invalid.json"));
  EXPECT_EQ(r.code, 1);
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(r.out.c_str()).HasParseError()) << r.out;
  EXPECT_FALSE(doc["valid"].GetBool());
  EXPECT_EQ(doc["validation_errors"].Size(), 2u);
  EXPECT_STREQ(doc["validation_errors"][0]["field"].GetString(), "vcpus[2].tsc_khz");
}

TEST_F(Cli, UnreadableInputs) {
  CliRun r = run("validate " + path("missing.mcs"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "No such file")) << r.err;
  write("x.txt", "hello");
  r = run("validate " + path("x.txt"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "unknown snapshot extension")) << r.err;
  write("garbage.mcs", std::string(4096, '\xff'));
  r = run("inspect --json " + path("garbage.mcs"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "bad magic")) << r.err;
}

TEST_F(Cli, FifoIsRefusedNotWaitedOn) {
  for (const char* name : {"fifo.json", "fifo.mcs"}) {
    ASSERT_EQ(::mkfifo(path(name).c_str(), 0644), 0);
    for (const char* verb : {"validate ", "inspect "}) {
      CliRun r = run(verb + path(name));
      EXPECT_EQ(r.code, 1) << verb << name;
      EXPECT_TRUE(has(r.err, "not a regular file (it is a FIFO)")) << r.err;
    }
  }
}

TEST_F(Cli, InvalidUtf8IsInvalidAndNeverReachesJsonOutput) {
  auto bad = good_;
  bad.vm.name = "gold\xFF" "en";
  ASSERT_TRUE(save_file(path("utf8.mcs"), bad).ok());  // save does not validate
  CliRun r = run("validate " + path("utf8.mcs"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "vm.name: is not valid UTF-8")) << r.err;
  EXPECT_TRUE(has(r.err, "[utf8_string]")) << r.err;
  r = run("convert " + path("utf8.mcs") + " " + path("utf8.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(slurp(path("utf8.json")), "") << "nothing written from an invalid input";
  // inspect --json still shows it, as valid UTF-8 (U+FFFD for the bad byte).
  r = run("inspect --json " + path("utf8.mcs"));
  EXPECT_EQ(r.code, 1);
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse<rapidjson::kParseValidateEncodingFlag>(r.out.c_str()).HasParseError()) << r.out;
  EXPECT_STREQ(doc["snapshot"]["vm"]["name"].GetString(), "gold\xEF\xBF\xBD" "en");
  EXPECT_STREQ(doc["validation_errors"][0]["rule"].GetString(), "utf8_string");
}

TEST_F(Cli, NulInAJsonStringIsRefused) {
  std::string json = slurp(path("good.json"));
  json.replace(json.find("\"guest-a\""), 9, "\"gold\\u0000en\"");
  write("nul.json", json);
  CliRun r = run("validate " + path("nul.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "vm.name: the string contains a NUL character")) << r.err;
}

TEST_F(Cli, ConvertBothWaysPreservesTheSnapshot) {
  CliRun r = run("convert " + path("good.mcs") + " " + path("c.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("convert " + path("c.json") + " " + path("c.mcs"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(path("c.mcs")), good_binary());  // byte-identical after a JSON detour
  EXPECT_EQ(slurp(path("c.json")), slurp(path("good.json")));
  auto back = load_file(path("c.mcs"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(testing::first_difference(*back, good_), "");
}

TEST_F(Cli, ConvertRefusesToOverwriteOrToWriteInvalidInput) {
  CliRun r = run("convert " + path("good.mcs") + " " + path("good.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "exists (use --force")) << r.err;
  EXPECT_EQ(run("convert --force " + path("good.mcs") + " " + path("good.json")).code, 0);
  std::string bytes = good_binary();
  bytes[30] ^= 1;
  write("corrupt.mcs", bytes);
  r = run("convert " + path("corrupt.mcs") + " " + path("out.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "checksum mismatch")) << r.err;
  EXPECT_EQ(slurp(path("out.json")), "") << "nothing written from a bad input";
  r = run("convert " + path("good.mcs") + " " + path("out.bin"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "unknown snapshot extension")) << r.err;
}

}  // namespace
}  // namespace migclock::serialization
