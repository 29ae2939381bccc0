// The JSON form: one object holding the format keys and the Snapshot's
// fields at top level:
//   {"format": "migclock.snapshot", "format_major": 1, "format_minor": 0,
//    "cereal_class_version": 1, "vm": {...}, ..., "vcpus": [...], ...}
#include <sstream>

#include <cereal/archives/json.hpp>
// Debian builds cereal against the system rapidjson (rapidjson-dev); cereal
// must come first so RAPIDJSON_ASSERT throws instead of aborting.
#include <rapidjson/error/en.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "codecs.hpp"
#include "migclock/serialization/cereal_snapshot.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::serialization::detail {
namespace {

constexpr const char* kFormatName = "migclock.snapshot";
// The schema nests four deep; anything far deeper is hostile. cereal's
// parser recurses per level, so depth is bounded before it runs.
constexpr int kMaxJsonDepth = 16;

// SAX pass (iterative, no recursion): syntax, depth, and a root object.
struct DepthGuard : RAPIDJSON_NAMESPACE::BaseReaderHandler<RAPIDJSON_NAMESPACE::UTF8<>, DepthGuard> {
  int depth = 0;
  bool too_deep = false;
  bool root_not_object = false;
  bool seen_root = false;
  bool Default() {
    if (!seen_root) root_not_object = true;
    seen_root = true;
    return !root_not_object;
  }
  bool open(bool is_object) {
    if (!seen_root && !is_object) root_not_object = true;
    seen_root = true;
    if (++depth > kMaxJsonDepth) too_deep = true;
    return !too_deep && !root_not_object;
  }
  // The schema has only integer fields. A number rapidjson would hold as a
  // double (fraction, exponent, beyond 64 bits) is refused here, which also
  // keeps it away from rapidjson 1.1's full-precision strtod (cereal's
  // setting), whose DiyFp::Normalize calls clz(0) on such input.
  bool not_integer = false;
  bool Double(double) {
    if (!seen_root) root_not_object = true;
    seen_root = true;
    not_integer = true;
    return false;
  }
  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }
  bool EndObject(RAPIDJSON_NAMESPACE::SizeType) { --depth; return true; }
  bool EndArray(RAPIDJSON_NAMESPACE::SizeType) { --depth; return true; }
};

void check_json_shape(std::string_view text) {
  namespace rj = RAPIDJSON_NAMESPACE;
  rj::MemoryStream bytes(text.data(), text.size());
  rj::EncodedInputStream<rj::UTF8<>, rj::MemoryStream> stream(bytes);
  rj::Reader reader;
  DepthGuard guard;
  rj::ParseResult result = reader.Parse<rj::kParseIterativeFlag>(stream, guard);
  if (guard.root_not_object) throw DecodeError("snapshot JSON: the document must be an object");
  if (guard.too_deep)
    throw DecodeError("snapshot JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  if (guard.not_integer)
    throw DecodeError("snapshot JSON: the number at offset " + std::to_string(result.Offset()) +
                      " is not an integer within 64 bits (every snapshot field is an integer)");
  if (result.IsError())
    throw DecodeError("snapshot JSON: parse error at offset " + std::to_string(result.Offset()) + ": " +
                      rj::GetParseError_En(result.Code()));
}

}  // namespace

std::string encode_json_throwing(const snapshot::Snapshot& s) {
  std::string text;
  text.reserve(4096 + s.vcpus.size() * 400);
  StringSinkBuf sink(text);
  std::ostream out(&sink);
  {
    cereal::JSONOutputArchive ar(out, cereal::JSONOutputArchive::Options(
                                          324, cereal::JSONOutputArchive::Options::IndentChar::space, 2));
    std::string format = kFormatName;
    uint32_t major = kFormatMajor, minor = kFormatMinor, class_version = kClassVersion;
    ar(cereal::make_nvp("format", format), cereal::make_nvp("format_major", major),
       cereal::make_nvp("format_minor", minor), cereal::make_nvp("cereal_class_version", class_version));
    cereal::snapshot_fields(ar, const_cast<snapshot::Snapshot&>(s));  // saving only reads
  }
  out << '\n';
  return text;
}

snapshot::Snapshot decode_json_throwing(std::string_view text) {
  check_json_shape(text);
  ViewStreamBuf buf(text);
  std::istream in(&buf);
  cereal::JSONInputArchive ar(in);
  std::string format;
  uint32_t major = 0, minor = 0, class_version = 0;
  field(ar, "format", format);
  if (format != kFormatName)
    throw DecodeError("snapshot JSON: \"format\" is \"" + format.substr(0, 64) + "\", expected \"" + kFormatName + "\"");
  field(ar, "format_major", major);
  field(ar, "format_minor", minor);
  const std::string theirs = std::to_string(major) + "." + std::to_string(minor);
  const std::string ours = std::to_string(kFormatMajor) + "." + std::to_string(kFormatMinor);
  if (major != kFormatMajor)
    throw DecodeError(errc::version_mismatch,
                      "snapshot JSON: format version " + theirs + " has a different major than this build's " + ours);
  if (minor > kFormatMinor)
    throw DecodeError(errc::version_mismatch,
                      "snapshot JSON: format version " + theirs + " is newer than this build's " + ours);
  field(ar, "cereal_class_version", class_version);
  check_class_version("Snapshot", class_version);
  snapshot::Snapshot s;
  cereal::snapshot_fields(ar, s);
  return s;
}

}  // namespace migclock::serialization::detail
