// The binary envelope around a portable-binary payload. Layout (all
// integers little-endian), 20 bytes then the payload:
//   0  magic "MIGCSNAP" (8 bytes)
//   8  format major (u16)   10  format minor (u16)
//   12 payload length (u32) 16 CRC32C of the payload (u32)
// Opening checks, in order, each with its own error and message: header
// present (truncated), magic (malformed_input), major (version_mismatch),
// minor not newer (version_mismatch), length within kMaxEncodedBytes
// (too_large), payload complete (truncated), no trailing bytes
// (malformed_input), checksum (checksum_mismatch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "migclock/common/result.hpp"

namespace migclock::serialization {

inline constexpr char kEnvelopeMagic[8] = {'M', 'I', 'G', 'C', 'S', 'N', 'A', 'P'};
inline constexpr std::size_t kEnvelopeHeaderBytes = 20;

struct EnvelopeHeader {
  uint16_t major = 0;
  uint16_t minor = 0;
  uint32_t payload_length = 0;
  uint32_t checksum = 0;
};

// Header + payload with the current format version.
std::string seal_envelope(std::string_view payload);
// Encodes a header as given (tests use it to forge version-skewed files).
std::string encode_envelope_header(const EnvelopeHeader&);
// Parses the header only (magic, but no version/length/checksum checks).
Result<EnvelopeHeader> read_envelope_header(std::string_view bytes);
// Every check above; on success the payload, a view into `bytes`.
Result<std::string_view> open_envelope(std::string_view bytes);

}  // namespace migclock::serialization
