// Writes the golden files of the current format version into a directory:
//   serialization_golden_writer tests/serialization/golden
// Run once when a format version is introduced; the files are then frozen
// and checked in (golden_test.cpp keeps every version loading).
#include <cstdio>
#include <string>

#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

int main(int argc, char** argv) {
  using namespace migclock::serialization;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  const std::string stem = std::string(argv[1]) + "/v" + std::to_string(kFormatMajor) + "_" +
                           std::to_string(kFormatMinor) + "_snapshot";
  for (const char* ext : {".json", ".mcs"}) {
    auto saved = save_file(stem + ext, testing::golden_current_snapshot());
    if (!saved) {
      std::fprintf(stderr, "%s\n", saved.error().message().c_str());
      return 1;
    }
    std::printf("wrote %s%s\n", stem.c_str(), ext);
  }
  return 0;
}
