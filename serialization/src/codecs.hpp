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
// Header + payload in one buffer (the payload is written in place).
std::string encode_binary_throwing(const snapshot::Snapshot&);
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

// An ostream target that appends to a string (no copy at the end, unlike
// std::ostringstream).
class StringSinkBuf : public std::streambuf {
 public:
  explicit StringSinkBuf(std::string& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  std::string& out_;
};

}  // namespace migclock::serialization::detail
