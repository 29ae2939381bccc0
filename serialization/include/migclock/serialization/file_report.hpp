// What examining a snapshot file found, step by step (read, envelope,
// decode, validate), so tools can show as much as they got before something
// failed — the model behind `migclock snapshot inspect|validate`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/serialization/envelope.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/validate.hpp"

namespace migclock::serialization {

struct FileReport {
  std::string path;
  Format format = Format::json;
  std::size_t bytes = 0;
  std::optional<EnvelopeHeader> envelope;  // binary files with a readable header
  std::optional<snapshot::Snapshot> snapshot;
  std::vector<ValidationError> errors;     // validation, when decoding worked
  std::optional<Error> failure;            // read or decode failure

  bool ok() const { return !failure && errors.empty(); }
};

FileReport examine_file(const std::string& path);

// {"file", "format", "bytes", "format_version"?, "payload_bytes"?, "valid",
//  "error"?, "validation_errors": [{field, rule, message}], "snapshot"?}
std::string file_report_json(const FileReport&, bool with_snapshot);

// {"in", "out", "format", "bytes"}
std::string convert_report_json(const std::string& in, const std::string& out, Format format, long long bytes);

}  // namespace migclock::serialization
