// Internal: the two archive codecs behind snapshot_io.hpp. Both may throw
// (cereal does); snapshot_io.cpp is the boundary that catches.
#pragma once

#include <istream>
#include <streambuf>
#include <string>
#include <string_view>

#include "migclock/snapshot/snapshot.hpp"

namespace migclock::serialization::detail {

std::string encode_json_throwing(const snapshot::Snapshot&);
snapshot::Snapshot decode_json_throwing(std::string_view text);
std::string encode_payload_throwing(const snapshot::Snapshot&);
snapshot::Snapshot decode_payload_throwing(std::string_view payload);

// A read-only istream over caller-owned bytes (no copy).
class ViewStreamBuf : public std::streambuf {
 public:
  explicit ViewStreamBuf(std::string_view bytes) {
    char* begin = const_cast<char*>(bytes.data());  // never written: get area only
    setg(begin, begin, begin + bytes.size());
  }
  bool exhausted() const { return gptr() == egptr(); }
};

}  // namespace migclock::serialization::detail
