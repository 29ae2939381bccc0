// The JSON form: one object holding the format keys and the Snapshot's
// fields at top level:
//   {"format": "migclock.snapshot", "format_major": 1, "format_minor": 0,
//    "cereal_class_version": 1, "vm": {...}, ..., "vcpus": [...], ...}
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include <cereal/archives/json.hpp>
// Debian builds cereal against the system rapidjson (rapidjson-dev).
// RAPIDJSON_ASSERT throws in every file (top-level CMakeLists.txt), so the
// include order no longer matters.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "codecs.hpp"
#include "cereal_snapshot.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::serialization::detail {
namespace {

constexpr const char* kFormatName = "migclock.snapshot";
// The schema nests four deep; anything far deeper is hostile. cereal's
// parser recurses per level, so depth is bounded before it runs.
constexpr int kMaxJsonDepth = 16;

namespace rj = RAPIDJSON_NAMESPACE;

// The keys the JSON form may hold, as a tree (object members; array
// elements [0] and [1..] apart, because cereal writes cereal_class_version
// only into the first object of each type, so vcpus[1] must not carry one:
// cereal would ignore it). Learnt from this build's own encoder, so it can
// never drift from the schema in cereal_snapshot.hpp.
struct Shape {
  std::map<std::string, std::unique_ptr<Shape>, std::less<>> members;
  std::unique_ptr<Shape> first, rest;
};

void learn(const rj::Value& v, Shape& shape) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      auto& child = shape.members[std::string(m.name.GetString(), m.name.GetStringLength())];
      if (!child) child = std::make_unique<Shape>();
      learn(m.value, *child);
    }
  } else if (v.IsArray()) {
    for (rj::SizeType i = 0; i < v.Size(); ++i) {
      auto& element = i == 0 ? shape.first : shape.rest;
      if (!element) element = std::make_unique<Shape>();
      learn(v[i], *element);
    }
  }
}

const Shape& schema() {
  static const Shape shape = [] {
    // Every optional part present and every list with at least two
    // elements, so that each key the encoder can write appears.
    snapshot::Snapshot s;
    s.vcpus.resize(2);
    s.guest_time.emplace();
    rj::Document doc;
    doc.Parse(encode_json_throwing(s).c_str());
    Shape learnt;
    learn(doc, learnt);
    return learnt;
  }();
  return shape;
}

// A key as it may be shown in an error: printable ASCII, at most 64 bytes.
std::string shown(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (key.size() > 64) out += "...";
  return out;
}

// SAX pass (iterative, no recursion) before cereal reads the text. Fatal
// at once: a syntax error, a root that is not an object, nesting deeper
// than kMaxJsonDepth, a number that is not a 64-bit integer. Recorded
// (the first one), to be reported once the version checks have had their
// say: a key the schema does not have, a key repeated in one object, a
// string holding NUL. cereal would read all three wrongly and silently: it
// ignores unknown keys, takes one of two duplicates, and cuts a string at
// its NUL ("gold\u0000en" reads as "gold").
class ShapeCheck : public rj::BaseReaderHandler<rj::UTF8<>, ShapeCheck> {
 public:
  explicit ShapeCheck(const Shape& schema) : schema_(schema), frames_(kMaxJsonDepth) {}

  bool root_not_object = false;
  bool too_deep = false;
  // The schema has only integer fields. A number rapidjson would hold as a
  // double (fraction, exponent, beyond 64 bits) is refused here, which also
  // keeps it away from rapidjson 1.1's full-precision strtod (cereal's
  // setting), whose DiyFp::Normalize calls clz(0) on such input.
  bool not_integer = false;
  std::string problem;  // "vm.name: ...", the first key or string problem

  bool Default() { return value(false); }  // null, booleans, integers
  bool Double(double) {
    if (value(false)) not_integer = true;
    return false;
  }
  bool String(const char* text, rj::SizeType length, bool) {
    if (!value(false)) return false;
    if (problem.empty() && std::memchr(text, '\0', length))
      problem = path() + ": the string contains a NUL character (\\u0000), which the JSON reader would cut it at";
    return true;
  }
  bool Key(const char* text, rj::SizeType length, bool) {
    Frame& f = frames_[depth_ - 1];
    f.key = nullptr;
    f.member = nullptr;
    if (!problem.empty()) return true;  // one problem is enough; syntax is still checked
    const std::string_view key(text, length);
    if (f.shape) {
      if (auto it = f.shape->members.find(key); it != f.shape->members.end()) {
        f.key = &it->first;
        f.member = it->second.get();
      }
    }
    if (!f.member) {
      const std::string parent = path();
      problem = (parent.empty() ? "" : parent + ".") + shown(key) + ": unknown key (format " +
                std::to_string(kFormatMajor) + "." + std::to_string(kFormatMinor) + " has no such field)";
      return true;
    }
    for (const Shape* seen : f.seen)
      if (seen == f.member) {
        problem = path() + ": duplicate key (a key may appear once per object)";
        return true;
      }
    f.seen.push_back(f.member);
    return true;
  }
  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }
  bool EndObject(rj::SizeType) { return close(); }
  bool EndArray(rj::SizeType) { return close(); }

 private:
  struct Frame {
    const Shape* shape = nullptr;  // what may appear inside; null: nothing
    bool object = false;
    long index = -1;                   // array: the current element
    const std::string* key = nullptr;  // object: the current key (the schema's copy)
    const Shape* member = nullptr;     // object: the current key's shape
    std::vector<const Shape*> seen;    // object: the keys met so far
  };

  // Every value starts here: finds its place (root, member, element).
  bool value(bool is_object) {
    if (depth_ == 0) {
      if (!is_object) root_not_object = true;
      current_ = &schema_;
      return is_object;
    }
    Frame& f = frames_[depth_ - 1];
    if (f.object) {
      current_ = f.member;
    } else {
      ++f.index;
      current_ = !f.shape ? nullptr : f.index == 0 ? f.shape->first.get() : f.shape->rest.get();
    }
    return true;
  }
  bool open(bool is_object) {
    if (!value(is_object)) return false;
    if (depth_ == kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    Frame& f = frames_[depth_++];
    f.shape = current_;
    f.object = is_object;
    f.index = -1;
    f.key = nullptr;
    f.member = nullptr;
    f.seen.clear();
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  // "vcpus[2].tsc_khz": where the current value is.
  std::string path() const {
    std::string out;
    for (int i = 0; i < depth_; ++i) {
      const Frame& f = frames_[i];
      if (!f.object) {
        out += "[" + std::to_string(f.index) + "]";
      } else if (f.key) {
        if (!out.empty()) out += '.';
        out += *f.key;
      }
    }
    return out;
  }

  const Shape& schema_;
  std::vector<Frame> frames_;
  int depth_ = 0;
  const Shape* current_ = nullptr;
};

// Throws for what must stop decoding at once; returns the recorded problem
// ("" if none).
std::string check_json_shape(std::string_view text) {
  rj::MemoryStream bytes(text.data(), text.size());
  rj::EncodedInputStream<rj::UTF8<>, rj::MemoryStream> stream(bytes);
  rj::Reader reader;
  ShapeCheck check(schema());
  rj::ParseResult result = reader.Parse<rj::kParseIterativeFlag>(stream, check);
  if (check.root_not_object) throw DecodeError("snapshot JSON: the document must be an object");
  if (check.too_deep)
    throw DecodeError("snapshot JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  if (check.not_integer)
    throw DecodeError("snapshot JSON: the number at offset " + std::to_string(result.Offset()) +
                      " is not an integer within 64 bits (every snapshot field is an integer)");
  if (result.IsError())
    throw DecodeError("snapshot JSON: parse error at offset " + std::to_string(result.Offset()) + ": " +
                      rj::GetParseError_En(result.Code()));
  return check.problem;
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
  const std::string problem = check_json_shape(text);
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
  // After cereal, so that a newer format or class version is reported as
  // such (its new keys are unknown here), as is any error cereal finds.
  if (!problem.empty()) throw DecodeError("snapshot JSON: " + problem);
  return s;
}

}  // namespace migclock::serialization::detail
