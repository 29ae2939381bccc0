// Snapshots for the serialization tests, and a field-by-field equality.
#pragma once

#include <cstddef>
#include <string>

#include "migclock/snapshot/snapshot.hpp"

namespace migclock::serialization::testing {

// A valid, realistic snapshot with `vcpus` vCPUs (every optional part
// present, values distinct per vCPU so mix-ups show).
snapshot::Snapshot sample_snapshot(std::size_t vcpus = 4);

// The frozen content of the golden v1.0 files (tests/serialization/golden/),
// as a 1.1+ reader loads them (tsc_khz_source and kvm "unrecorded").
// Never change it: a new format version adds a new golden set instead.
snapshot::Snapshot golden_v1_snapshot();
// The frozen content of the golden v1.1 files: a libvirt/QEMU capture on a
// host without /dev/kvm whose TSC frequency could not be learnt, the case
// format 1.1 exists for.
snapshot::Snapshot golden_v1_1_snapshot();
// The golden snapshot of the format version this build writes.
snapshot::Snapshot golden_current_snapshot();

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// "" when equal, else the first differing field ("vcpus[2].tsc_khz").
std::string first_difference(const snapshot::Snapshot& a, const snapshot::Snapshot& b);

}  // namespace migclock::serialization::testing
