// The one JSON writer of the tree (issue 11): a fluent wrapper over
// rapidjson's writers, so no component builds JSON from strings or keeps a
// private rapidjson helper of its own. Compact (JsonWriter) for the wire and
// records, indented (PrettyJsonWriter) for what people read.
//   JsonWriter w; w.begin_object().key("a").value(1).end_object(); w.str();
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace migclock {

template <class Writer>
class BasicJsonWriter {
 public:
  BasicJsonWriter() : writer_(buffer_) {}
  // The writer points into its own buffer.
  BasicJsonWriter(const BasicJsonWriter&) = delete;
  BasicJsonWriter& operator=(const BasicJsonWriter&) = delete;

  BasicJsonWriter& begin_object() { return done(writer_.StartObject()); }
  BasicJsonWriter& end_object() { return done(writer_.EndObject()); }
  BasicJsonWriter& begin_array() { return done(writer_.StartArray()); }
  BasicJsonWriter& end_array() { return done(writer_.EndArray()); }
  BasicJsonWriter& key(std::string_view k) { return done(writer_.Key(k.data(), size(k), true)); }
  BasicJsonWriter& value(std::string_view v) { return done(writer_.String(v.data(), size(v), true)); }
  BasicJsonWriter& value(const char* v) { return value(std::string_view(v)); }
  BasicJsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  BasicJsonWriter& value(int64_t v) { return done(writer_.Int64(v)); }
  BasicJsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  BasicJsonWriter& value(uint64_t v) { return done(writer_.Uint64(v)); }
  BasicJsonWriter& value(uint32_t v) { return value(static_cast<uint64_t>(v)); }
  // NaN and infinities are not JSON: written as null.
  BasicJsonWriter& value(double v) { return done(std::isfinite(v) ? writer_.Double(v) : writer_.Null()); }
  BasicJsonWriter& value(bool v) { return done(writer_.Bool(v)); }
  BasicJsonWriter& null() { return done(writer_.Null()); }
  BasicJsonWriter& optional(const std::optional<int64_t>& v) { return v ? value(*v) : null(); }
  // Copies a parsed value.
  BasicJsonWriter& value(const rapidjson::Value& v) { return done(v.Accept(writer_)); }
  // Inserts already-serialized JSON (must be valid).
  BasicJsonWriter& raw(std::string_view json) {
    return done(writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType));
  }
  // key(k).value(v) in one call, for flat records.
  template <class T>
  BasicJsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  std::string str() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  static rapidjson::SizeType size(std::string_view s) { return static_cast<rapidjson::SizeType>(s.size()); }
  // rapidjson's bool results only say "the document is complete"; misuse
  // (a value where a key belongs) is RAPIDJSON_ASSERT's business.
  BasicJsonWriter& done(bool) { return *this; }

  rapidjson::StringBuffer buffer_;
  Writer writer_;
};

using JsonWriter = BasicJsonWriter<rapidjson::Writer<rapidjson::StringBuffer>>;
using PrettyJsonWriter = BasicJsonWriter<rapidjson::PrettyWriter<rapidjson::StringBuffer>>;

}  // namespace migclock
