// Golden files: every format version ever released keeps loading, to the
// values it was written with.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <string>
#include <vector>

#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::serialization {
namespace {

const std::string kGoldenDir = MIGCLOCK_GOLDEN_DIR;

std::vector<std::string> golden_files() {
  std::vector<std::string> files;
  if (DIR* d = opendir(kGoldenDir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (format_for_path(name).ok()) files.push_back(kGoldenDir + "/" + name);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Golden, V1FilesDecodeToTheirKnownValues) {
  for (const char* ext : {".json", ".mcs"}) {
    const std::string path = kGoldenDir + "/v1_0_snapshot" + ext;
    auto loaded = load_file(path);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    EXPECT_EQ(testing::first_difference(*loaded, testing::golden_v1_snapshot()), "") << path;
    // Spot checks against literal values, independent of the fixture code.
    EXPECT_EQ(loaded->vm.name, "golden-vm");
    EXPECT_EQ(loaded->clock.clock_ns, 7'000'000'003u);
    EXPECT_EQ(loaded->vcpus.size(), 4u);
    EXPECT_EQ(loaded->vcpus[3].tsc_offset, 0xFFFF'FFF0'0000'0003ull);
    EXPECT_FALSE(loaded->vcpus[3].tsc_offset_valid);
    EXPECT_EQ(loaded->vcpus[0].tsc_scaling_ratio, 0x1'8000'0000'0000ull);
    EXPECT_EQ(loaded->source, snapshot::CaptureSource::libvirt_qemu);
    EXPECT_EQ(loaded->masterclock.evidence, snapshot::MasterclockEvidence::tracefs);
    EXPECT_EQ(loaded->pit.channels[0].count, 65535u);
    EXPECT_FALSE(loaded->guest_time.has_value());
  }
}

TEST(Golden, V1_1FilesCarryAnExplicitlyUnknownFrequencyAndValidate) {
  for (const char* ext : {".json", ".mcs"}) {
    const std::string path = kGoldenDir + "/v1_1_snapshot" + ext;
    auto loaded = load_file(path);  // load_file validates: unknown is not invalid
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    EXPECT_EQ(testing::first_difference(*loaded, testing::golden_v1_1_snapshot()), "") << path;
    EXPECT_EQ(loaded->host.tsc_khz, 0u);
    EXPECT_EQ(loaded->host.tsc_khz_source, snapshot::TscKhzSource::unknown);
    EXPECT_EQ(loaded->host.kvm, snapshot::KvmPresence::absent);
    EXPECT_EQ(loaded->vcpus[1].tsc_khz, 0u);
  }
}

TEST(Golden, V1_0FilesLoadWithTheNewFactsUnrecorded) {
  auto loaded = load_file(kGoldenDir + "/v1_0_snapshot.json");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->host.tsc_khz_source, snapshot::TscKhzSource::unrecorded);
  EXPECT_EQ(loaded->host.kvm, snapshot::KvmPresence::unrecorded);
}

TEST(Golden, CurrentVersionEncodesByteForByteAsItsGoldenFiles) {
  // Only the golden set of the version this build writes can be compared
  // byte for byte; older sets must only keep loading.
  const std::string stem = kGoldenDir + "/v" + std::to_string(kFormatMajor) + "_" + std::to_string(kFormatMinor) +
                           "_snapshot";
  for (Format f : {Format::json, Format::binary}) {
    auto on_disk = read_snapshot_bytes(stem + (f == Format::json ? ".json" : ".mcs"));
    ASSERT_TRUE(on_disk.ok()) << on_disk.error().message();
    auto encoded = encode(testing::golden_current_snapshot(), f);
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(*encoded, *on_disk) << "the " << format_name(f)
                                  << " encoding changed without a format version bump";
  }
}

TEST(Golden, EveryGoldenFileOfEveryVersionLoads) {
  auto files = golden_files();
  ASSERT_GE(files.size(), 2u) << "no golden files in " << kGoldenDir;
  for (const auto& path : files) {
    auto loaded = load_file(path);
    EXPECT_TRUE(loaded.ok()) << path << ": " << loaded.error().message();
  }
}

}  // namespace
}  // namespace migclock::serialization
