// JSON on rapidjson (the one cereal uses): parse a request body into an
// object with a Problem naming the position, read typed fields with a
// Problem naming the field, and write JSON without hand-built strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "migclock/common/json_writer.hpp"
#include "migclock/net/problem.hpp"

namespace migclock::net {

// Parses `body` and requires a top-level object (invalid_json otherwise,
// with the byte offset in the message). Hostile input: nesting is capped
// before parsing (common/text_guard), every string and key must be UTF-8
// (bad_request naming the field) and no object may repeat a key.
Outcome<rapidjson::Document> parse_object(std::string_view body, std::size_t max_depth = 32);
// Any top-level value.
Outcome<rapidjson::Document> parse_any(std::string_view body, std::size_t max_depth = 32);

// Reads fields of one object; the first failure is kept and later reads are
// no-ops, so a handler reads everything then checks problem() once.
// Field names in problems carry the prefix: "results.downtime_ns".
class FieldReader {
 public:
  explicit FieldReader(const rapidjson::Value& object, std::string prefix = {});

  FieldReader& string(const char* name, std::string& out, bool required = true, std::size_t max_bytes = 256);
  FieldReader& int64(const char* name, int64_t& out, bool required = true);
  FieldReader& int64(const char* name, std::optional<int64_t>& out);  // optional, null allowed
  FieldReader& uint32(const char* name, uint32_t& out, bool required = true);
  FieldReader& boolean(const char* name, bool& out, bool required = true);
  // One of `allowed` (comma-separated: "yes,no,unknown").
  FieldReader& one_of(const char* name, std::string& out, const char* allowed, bool required = true);
  // A nested object (nullptr when absent and not required).
  FieldReader& object(const char* name, const rapidjson::Value*& out, bool required = false);
  FieldReader& array(const char* name, const rapidjson::Value*& out, bool required = false);

  bool ok() const { return !problem_.has_value(); }
  const std::optional<Problem>& problem() const { return problem_; }
  std::string field_name(const char* name) const { return prefix_.empty() ? name : prefix_ + "." + name; }

 private:
  const rapidjson::Value* find(const char* name, bool required);
  void fail(const char* name, std::string message);
  const rapidjson::Value& object_;
  std::string prefix_;
  std::optional<Problem> problem_;
};

// The tree's one JSON writer (common/json_writer.hpp), under its old name.
using JsonWriter = ::migclock::JsonWriter;

// Serializes a rapidjson value.
std::string to_string(const rapidjson::Value& v);

}  // namespace migclock::net
