// Semantic validation of a decoded snapshot: a separate step after decode,
// returning one error per broken rule, each naming the field
// ("vcpus[2].tsc_khz"). Rules and limits: docs/snapshot-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::serialization {

struct ValidationError {
  std::string field;    // "vcpus[2].tsc_khz", "clock.realtime_ns", "vcpus"
  std::string rule;     // a stable rule id, e.g. "plausible_frequency"
  std::string message;  // for people

  std::string to_string() const { return field + ": " + message + " [" + rule + "]"; }
};

// Plausibility bounds for TSC frequencies (guest and host): 100 MHz..10 GHz.
inline constexpr uint32_t kMinPlausibleTscKhz = 100'000;
inline constexpr uint32_t kMaxPlausibleTscKhz = 10'000'000;
// Longest accepted string field, in bytes.
inline constexpr std::size_t kMaxStringBytes = 256;
// A non-default scaling ratio must match tsc_khz / host.tsc_khz this closely.
inline constexpr double kRatioTolerance = 0.01;
inline constexpr uint32_t kPitMaxCount = 65536;
inline constexpr uint8_t kPitMaxMode = 5;

std::vector<ValidationError> validate(const snapshot::Snapshot&);

// Ok, or validation_failed with every error in the context
// ("vcpus[2].tsc_khz: must be > 0 [positive_frequency]; ...").
Status validate_status(const snapshot::Snapshot&);

}  // namespace migclock::serialization
