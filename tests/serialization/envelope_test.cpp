// Every envelope check, the CRC, and hostile payloads behind a valid CRC.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "migclock/serialization/crc32c.hpp"
#include "migclock/serialization/envelope.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::serialization {
namespace {

using testing::sample_snapshot;

std::string valid_binary() {
  auto bytes = encode(sample_snapshot(4), Format::binary);
  EXPECT_TRUE(bytes.ok());
  return *bytes;
}

Error decode_error(std::string_view bytes) {
  auto r = decode(bytes, Format::binary);
  EXPECT_FALSE(r.ok()) << "decode unexpectedly succeeded";
  return r.ok() ? Error{} : r.error();
}

void expect_error(std::string_view bytes, errc code, const std::string& fragment) {
  Error e = decode_error(bytes);
  EXPECT_EQ(e.code, make_error_code(code)) << e.message();
  EXPECT_NE(e.message().find(fragment), std::string::npos) << e.message();
}

uint32_t crc32c_bitwise(const std::string& s) {
  uint32_t crc = ~0u;
  for (unsigned char c : s) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

TEST(Crc32c, KnownCheckValues) {
  EXPECT_EQ(crc32c(std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string_view("")), 0u);
  // RFC 3720 B.4: 32 bytes of zeros.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(Crc32c, SlicedMatchesBitwiseAndChains) {
  std::mt19937 rng(42);
  for (std::size_t len = 0; len < 300; ++len) {
    std::string s(len, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    ASSERT_EQ(crc32c(s), crc32c_bitwise(s)) << len;
    ASSERT_EQ(crc32c_portable(s.data(), s.size()), crc32c_bitwise(s)) << len;
    const std::size_t cut = len / 3;
    ASSERT_EQ(crc32c(std::string_view(s).substr(cut), crc32c(std::string_view(s).substr(0, cut))), crc32c(s));
  }
}

TEST(Envelope, LayoutIsMagicVersionLengthChecksum) {
  const std::string bytes = valid_binary();
  ASSERT_GT(bytes.size(), kEnvelopeHeaderBytes);
  EXPECT_EQ(bytes.substr(0, 8), "MIGCSNAP");
  auto header = read_envelope_header(bytes);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->major, kFormatMajor);
  EXPECT_EQ(header->minor, kFormatMinor);
  EXPECT_EQ(header->payload_length, bytes.size() - kEnvelopeHeaderBytes);
  EXPECT_EQ(header->checksum, crc32c(std::string_view(bytes).substr(kEnvelopeHeaderBytes)));
}

TEST(Envelope, EmptyAndShortHeaderAreTruncated) {
  expect_error("", errc::truncated, "shorter than the 20-byte header");
  expect_error(valid_binary().substr(0, kEnvelopeHeaderBytes - 1), errc::truncated, "header");
}

TEST(Envelope, BadMagic) {
  std::string bytes = valid_binary();
  bytes[0] = 'X';
  expect_error(bytes, errc::malformed_input, "bad magic");
  expect_error(std::string(100, '{'), errc::malformed_input, "bad magic");  // JSON given to the binary decoder
}

std::string with_version(uint16_t major, uint16_t minor) {
  std::string bytes = valid_binary();
  auto h = *read_envelope_header(bytes);
  h.major = major;
  h.minor = minor;
  return encode_envelope_header(h) + bytes.substr(kEnvelopeHeaderBytes);
}

TEST(Envelope, DifferentMajorIsRefused) {
  expect_error(with_version(kFormatMajor + 1, 0), errc::version_mismatch, "format version 2.0 has a different major");
  expect_error(with_version(0, 9), errc::version_mismatch, "different major");
}

TEST(Envelope, NewerMinorIsRefused) {
  expect_error(with_version(kFormatMajor, kFormatMinor + 1), errc::version_mismatch, "is newer than this build's 1.1");
}

TEST(Envelope, OversizedDeclaredPayloadIsRefusedBeforeReading) {
  std::string bytes = valid_binary();
  auto h = *read_envelope_header(bytes);
  h.payload_length = static_cast<uint32_t>(kMaxEncodedBytes + 1);
  expect_error(encode_envelope_header(h) + bytes.substr(kEnvelopeHeaderBytes), errc::too_large, "exceeds the limit");
}

TEST(Envelope, TruncatedPayload) {
  const std::string bytes = valid_binary();
  expect_error(bytes.substr(0, bytes.size() - 1), errc::truncated, "payload has");
  // Every possible cut fails cleanly.
  for (std::size_t n = 0; n < bytes.size(); ++n) ASSERT_FALSE(decode(bytes.substr(0, n), Format::binary).ok()) << n;
}

TEST(Envelope, TrailingBytes) {
  expect_error(valid_binary() + "x", errc::malformed_input, "1 trailing bytes");
}

TEST(Envelope, BadChecksum) {
  std::string bytes = valid_binary();
  bytes[kEnvelopeHeaderBytes + 10] ^= 0x01;
  expect_error(bytes, errc::checksum_mismatch, "CRC32C");
  std::string bad_field = valid_binary();
  bad_field[16] ^= 0x80;  // the stored checksum itself
  expect_error(bad_field, errc::checksum_mismatch, "stored");
}

TEST(Envelope, EverySingleBitFlipInThePayloadIsCaught) {
  const std::string bytes = valid_binary();
  for (std::size_t i = kEnvelopeHeaderBytes; i < bytes.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] ^= static_cast<char>(1 << bit);
      auto r = decode(flipped, Format::binary);
      ASSERT_FALSE(r.ok());
      ASSERT_EQ(r.error().code, make_error_code(errc::checksum_mismatch));
    }
}

// --- Hostile payloads sealed with a correct CRC: the decoder's own checks.

struct Forged {
  std::string payload;
  std::size_t marker = 0;  // offset of software_version's bytes
};

// Layout facts used below (portable binary, little-endian; see
// docs/snapshot-format.md): the payload starts with the endianness byte and
// Snapshot's class version; `source` is the byte before software_version's
// u64 length; after software_version come clock (4+8+4+8+8 bytes) and
// masterclock (4+1+1), then the vcpus u64 length, then vcpus[0]'s class
// version (4), id (4), tsc_offset (8) and tsc_offset_valid (1 byte).
constexpr char kMarker[] = "MARKER-SOFTWARE";
constexpr std::size_t kMarkerLen = sizeof kMarker - 1;

Forged forge() {
  auto s = sample_snapshot(2);
  s.software_version = kMarker;
  auto bytes = encode(s, Format::binary);
  Forged f;
  f.payload = bytes->substr(kEnvelopeHeaderBytes);
  f.marker = f.payload.find(kMarker);
  EXPECT_NE(f.marker, std::string::npos);
  return f;
}

void put_u64(std::string& s, std::size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

std::size_t vcpus_length_at(const Forged& f) { return f.marker + kMarkerLen + 32 + 6; }

TEST(HostilePayload, ForgedLayoutIsUnderstood) {
  Forged f = forge();
  auto r = decode(seal_envelope(f.payload), Format::binary);
  ASSERT_TRUE(r.ok()) << r.error().message();
  uint64_t declared = 0;
  std::memcpy(&declared, f.payload.data() + vcpus_length_at(f), 8);
  EXPECT_EQ(declared, 2u);  // the offsets below point where they claim
}

TEST(HostilePayload, HugeVcpuCountIsRefusedBeforeAllocation) {
  Forged f = forge();
  put_u64(f.payload, vcpus_length_at(f), 1ull << 40);
  expect_error(seal_envelope(f.payload), errc::malformed_input, "declared length 1099511627776 exceeds the limit of 1024");
}

TEST(HostilePayload, VcpuCountBeyondTheDataIsTruncation) {
  Forged f = forge();
  put_u64(f.payload, vcpus_length_at(f), 1000);
  Error e = decode_error(seal_envelope(f.payload));
  EXPECT_EQ(e.code, make_error_code(errc::malformed_input)) << e.message();
}

TEST(HostilePayload, HugeStringLengthIsRefusedBeforeAllocation) {
  Forged f = forge();
  put_u64(f.payload, f.marker - 8, 1ull << 40);
  expect_error(seal_envelope(f.payload), errc::malformed_input, "software_version: declared string length");
}

TEST(HostilePayload, BoolByteOtherThanZeroOrOne) {
  Forged f = forge();
  const std::size_t valid_flag = vcpus_length_at(f) + 8 + 4 + 4 + 8;
  ASSERT_EQ(f.payload[valid_flag], 1);
  f.payload[valid_flag] = 2;
  expect_error(seal_envelope(f.payload), errc::malformed_input, "vcpus[0].tsc_offset_valid: boolean byte 2");
}

TEST(HostilePayload, EnumByteOutOfRange) {
  Forged f = forge();
  const std::size_t source = f.marker - 8 - 1;
  ASSERT_EQ(f.payload[source], 1);  // owned_vmm
  f.payload[source] = 9;
  expect_error(seal_envelope(f.payload), errc::malformed_input, "source: unknown value 9");
}

TEST(HostilePayload, NewerClassVersionIsAVersionError) {
  Forged f = forge();
  f.payload[1] = 2;  // Snapshot's class version, right after the endianness byte
  expect_error(seal_envelope(f.payload), errc::version_mismatch, "Snapshot: class version 2 is newer");
}

TEST(HostilePayload, UnreadBytesInsideThePayload) {
  Forged f = forge();
  expect_error(seal_envelope(f.payload + "zz"), errc::malformed_input, "unread bytes");
}

TEST(HostilePayload, RandomBytesWithValidCrcNeverCrash) {
  std::mt19937 rng(7);
  int refused = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string payload(rng() % 700, '\0');
    for (auto& c : payload) c = static_cast<char>(rng());
    refused += !decode(seal_envelope(payload), Format::binary).ok();
  }
  EXPECT_EQ(refused, 2000);  // random bytes are never a snapshot
}

}  // namespace
}  // namespace migclock::serialization
