// The binary payload: cereal's portable binary archive, always written
// little-endian so identical snapshots give identical bytes on any host.
#include <ostream>

#include <cereal/archives/portable_binary.hpp>

#include "codecs.hpp"
#include "migclock/serialization/crc32c.hpp"
#include "migclock/serialization/envelope.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "cereal_snapshot.hpp"

namespace migclock::serialization::detail {

std::string encode_binary_throwing(const snapshot::Snapshot& s) {
  std::string bytes(kEnvelopeHeaderBytes, '\0');
  bytes.reserve(1024 + s.vcpus.size() * 96);
  {
    StringSinkBuf sink(bytes);
    std::ostream out(&sink);
    cereal::PortableBinaryOutputArchive ar(out, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    ar(s);
  }
  const std::string_view payload = std::string_view(bytes).substr(kEnvelopeHeaderBytes);
  const std::string header = encode_envelope_header(
      {kFormatMajor, kFormatMinor, static_cast<uint32_t>(payload.size()), crc32c(payload)});
  bytes.replace(0, kEnvelopeHeaderBytes, header);
  return bytes;
}

snapshot::Snapshot decode_payload_throwing(std::string_view payload) {
  ViewStreamBuf buf(payload);
  std::istream in(&buf);
  snapshot::Snapshot s;
  {
    cereal::PortableBinaryInputArchive ar(in);
    ar(s);
  }
  if (!buf.exhausted()) throw DecodeError("snapshot payload: unread bytes after the snapshot");
  return s;
}

}  // namespace migclock::serialization::detail
