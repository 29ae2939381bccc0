#include "migclock/serialization/envelope.hpp"

#include <cstdio>
#include <cstring>

#include "migclock/serialization/crc32c.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::serialization {
namespace {

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return value;
}

std::string version_text(uint16_t major, uint16_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

std::string encode_envelope_header(const EnvelopeHeader& h) {
  std::string out(kEnvelopeMagic, sizeof kEnvelopeMagic);
  put_le(out, h.major, 2);
  put_le(out, h.minor, 2);
  put_le(out, h.payload_length, 4);
  put_le(out, h.checksum, 4);
  return out;
}

std::string seal_envelope(std::string_view payload) {
  EnvelopeHeader h{kFormatMajor, kFormatMinor, static_cast<uint32_t>(payload.size()), crc32c(payload)};
  std::string out = encode_envelope_header(h);
  out.append(payload);
  return out;
}

Result<EnvelopeHeader> read_envelope_header(std::string_view bytes) {
  if (bytes.size() < kEnvelopeHeaderBytes)
    return make_error(errc::truncated, "snapshot envelope: " + std::to_string(bytes.size()) +
                                           " bytes, shorter than the " + std::to_string(kEnvelopeHeaderBytes) +
                                           "-byte header");
  if (std::memcmp(bytes.data(), kEnvelopeMagic, sizeof kEnvelopeMagic) != 0)
    return make_error(errc::malformed_input, "snapshot envelope: bad magic (not a migclock binary snapshot)");
  EnvelopeHeader h;
  h.major = static_cast<uint16_t>(get_le(bytes, 8, 2));
  h.minor = static_cast<uint16_t>(get_le(bytes, 10, 2));
  h.payload_length = static_cast<uint32_t>(get_le(bytes, 12, 4));
  h.checksum = static_cast<uint32_t>(get_le(bytes, 16, 4));
  return h;
}

Result<std::string_view> open_envelope(std::string_view bytes) {
  auto header = read_envelope_header(bytes);
  if (!header) return header.error();
  const EnvelopeHeader& h = *header;
  const std::string ours = version_text(kFormatMajor, kFormatMinor);
  if (h.major != kFormatMajor)
    return make_error(errc::version_mismatch, "snapshot envelope: format version " + version_text(h.major, h.minor) +
                                                  " has a different major than this build's " + ours);
  if (h.minor > kFormatMinor)
    return make_error(errc::version_mismatch, "snapshot envelope: format version " + version_text(h.major, h.minor) +
                                                  " is newer than this build's " + ours);
  if (h.payload_length > kMaxEncodedBytes)
    return make_error(errc::too_large, "snapshot envelope: declared payload of " + std::to_string(h.payload_length) +
                                           " bytes exceeds the limit of " + std::to_string(kMaxEncodedBytes));
  const std::size_t available = bytes.size() - kEnvelopeHeaderBytes;
  if (available < h.payload_length)
    return make_error(errc::truncated, "snapshot envelope: payload has " + std::to_string(available) + " of its " +
                                           std::to_string(h.payload_length) + " bytes");
  if (available > h.payload_length)
    return make_error(errc::malformed_input, "snapshot envelope: " + std::to_string(available - h.payload_length) +
                                                 " trailing bytes after the payload");
  std::string_view payload = bytes.substr(kEnvelopeHeaderBytes, h.payload_length);
  const uint32_t actual = crc32c(payload);
  if (actual != h.checksum) {
    char detail[64];
    std::snprintf(detail, sizeof detail, "stored %08x, computed %08x", h.checksum, actual);
    return make_error(errc::checksum_mismatch, std::string("snapshot envelope: payload CRC32C ") + detail);
  }
  return payload;
}

}  // namespace migclock::serialization
