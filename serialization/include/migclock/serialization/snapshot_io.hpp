// The snapshot on the wire and on disk: encode/decode in either archive and
// atomic file save/load.
//
// Two forms of one schema (docs/snapshot-format.md):
//   json   — cereal JSON archive, for REST bodies and people (".json");
//   binary — a checked envelope (magic, format version, payload length,
//            CRC32C) around a cereal portable binary archive (".mcs").
//
// Nothing here throws: every failure, including hostile input, is an Error
// (malformed_input, version_mismatch, checksum_mismatch, too_large,
// truncated, io_error, validation_failed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "migclock/common/result.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::serialization {

enum class Format { json, binary };  // binary = envelope + cereal portable binary

// The snapshot format version, independent of the product version.
// A reader accepts the same major and any minor up to its own.
inline constexpr uint16_t kFormatMajor = 1;
// 1.1: HostFacts gained tsc_khz_source and kvm; a frequency may be unknown
// (0 with tsc_khz_source "unknown").
inline constexpr uint16_t kFormatMinor = 1;

// No encoded snapshot (either form) may exceed this; checked before any
// allocation that depends on the input.
inline constexpr std::size_t kMaxEncodedBytes = 16u << 20;  // 16 MiB
// Decoders refuse more vCPUs than this before allocating them.
inline constexpr std::size_t kMaxVcpus = 1024;

const char* format_name(Format f);  // "json" / "binary"
std::optional<Format> format_from_name(std::string_view name);  // nullopt: neither

Result<std::string> encode(const snapshot::Snapshot&, Format);
// Envelope checks + parse; no semantic validation (see validate.hpp).
Result<snapshot::Snapshot> decode(std::string_view bytes, Format);
// ".json" → json, ".mcs" → binary, anything else → invalid_argument.
Result<Format> format_for_path(const std::string& path);

// Atomic: writes a temporary file in the same directory, fsyncs it, renames
// it over `path` and fsyncs the directory. Does not validate.
Status save_file(const std::string& path, const snapshot::Snapshot&);
// Reads (refusing files over kMaxEncodedBytes before reading), decodes by
// extension, then validates (validation_failed lists every broken rule).
Result<snapshot::Snapshot> load_file(const std::string& path);

// The raw bytes of a snapshot file, size-capped. For tools that want to
// decode and validate as separate steps (e.g. `migclock snapshot inspect`).
Result<std::string> read_snapshot_bytes(const std::string& path);

}  // namespace migclock::serialization
