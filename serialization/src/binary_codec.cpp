// The binary payload: cereal's portable binary archive, always written
// little-endian so identical snapshots give identical bytes on any host.
#include <sstream>

#include <cereal/archives/portable_binary.hpp>

#include "codecs.hpp"
#include "migclock/serialization/cereal_snapshot.hpp"

namespace migclock::serialization::detail {

std::string encode_payload_throwing(const snapshot::Snapshot& s) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    ar(s);
  }
  return std::move(out).str();
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
