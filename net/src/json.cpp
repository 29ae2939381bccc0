#include "migclock/net/json.hpp"

#include <rapidjson/error/en.h>

#include <cmath>
#include <limits>
#include <unordered_set>

#include "migclock/common/text_guard.hpp"

namespace migclock::net {

namespace {
const char* type_name(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return "number";
  }
  return "value";
}

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Every string and key must be UTF-8 (what is stored is echoed in JSON
// answers, which must stay valid), and no object may repeat a key
// (rapidjson's FindMember takes the first, a proxy or another parser the
// last: two readers must not see two different requests). Depth is bounded
// by the pre-scan, so the recursion is too.
std::optional<Problem> check_strings(const rapidjson::Value& v, const std::string& path) {
  auto bad_utf8 = [](std::string_view s) { return first_invalid_utf8(s) != std::string_view::npos; };
  if (v.IsString()) {
    if (bad_utf8({v.GetString(), v.GetStringLength()}))
      return problem(ApiErrc::bad_request, (path.empty() ? std::string("value") : path) + ": is not valid UTF-8", path);
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      if (auto p = check_strings(v[i], path + "[" + std::to_string(i) + "]")) return p;
  } else if (v.IsObject()) {
    std::unordered_set<std::string_view> seen;
    for (const auto& m : v.GetObject()) {
      std::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (bad_utf8(key)) return problem(ApiErrc::bad_request, "a key in " + (path.empty() ? std::string("the body") : path) +
                                                                  " is not valid UTF-8", path);
      if (!seen.insert(key).second)
        return problem(ApiErrc::invalid_json, child_path(path, key) + ": duplicate key", child_path(path, key));
      if (auto p = check_strings(m.value, child_path(path, key))) return p;
    }
  }
  return std::nullopt;
}
}  // namespace

Outcome<rapidjson::Document> parse_any(std::string_view body, std::size_t max_depth) {
  if (!json_depth_ok(body, max_depth))
    return problem(ApiErrc::invalid_json, "JSON nested deeper than " + std::to_string(max_depth) + " levels");
  rapidjson::Document d;
  // Without kParseStopWhenDoneFlag trailing garbage is an error too.
  d.Parse(body.data(), body.size());
  if (d.HasParseError()) {
    return problem(ApiErrc::invalid_json, std::string("malformed JSON at byte ") + std::to_string(d.GetErrorOffset()) +
                                              ": " + rapidjson::GetParseError_En(d.GetParseError()));
  }
  if (auto p = check_strings(d, "")) return *p;
  return d;
}

Outcome<rapidjson::Document> parse_object(std::string_view body, std::size_t max_depth) {
  auto d = parse_any(body, max_depth);
  if (!d) return d.problem();
  if (!d->IsObject()) return problem(ApiErrc::invalid_json, std::string("expected a JSON object, got ") + type_name(*d));
  return std::move(d).value();
}

FieldReader::FieldReader(const rapidjson::Value& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {
  if (!object_.IsObject()) problem_ = net::problem(ApiErrc::invalid_json, "expected an object", prefix_);
}

void FieldReader::fail(const char* name, std::string message) {
  if (problem_) return;
  message.insert(0, field_name(name) + ": ");
  problem_ = net::problem(ApiErrc::invalid_json, std::move(message), field_name(name));
}

const rapidjson::Value* FieldReader::find(const char* name, bool required) {
  if (problem_) return nullptr;
  auto it = object_.FindMember(name);
  if (it == object_.MemberEnd() || (it->value.IsNull() && !required)) {
    if (required) fail(name, "is required");
    return nullptr;
  }
  return &it->value;
}

FieldReader& FieldReader::string(const char* name, std::string& out, bool required, std::size_t max_bytes) {
  if (auto* v = find(name, required)) {
    if (!v->IsString()) fail(name, std::string("must be a string, got ") + type_name(*v));
    else if (v->GetStringLength() > max_bytes) fail(name, "longer than " + std::to_string(max_bytes) + " bytes");
    else out.assign(v->GetString(), v->GetStringLength());
  }
  return *this;
}

FieldReader& FieldReader::int64(const char* name, int64_t& out, bool required) {
  if (auto* v = find(name, required)) {
    if (!v->IsInt64()) fail(name, std::string("must be an integer, got ") + type_name(*v));
    else out = v->GetInt64();
  }
  return *this;
}

FieldReader& FieldReader::int64(const char* name, std::optional<int64_t>& out) {
  if (auto* v = find(name, false)) {
    if (!v->IsInt64()) fail(name, std::string("must be an integer, got ") + type_name(*v));
    else out = v->GetInt64();
  }
  return *this;
}

FieldReader& FieldReader::uint32(const char* name, uint32_t& out, bool required) {
  if (auto* v = find(name, required)) {
    if (!v->IsUint()) fail(name, std::string("must be a non-negative 32-bit integer, got ") + type_name(*v));
    else out = v->GetUint();
  }
  return *this;
}

FieldReader& FieldReader::boolean(const char* name, bool& out, bool required) {
  if (auto* v = find(name, required)) {
    if (!v->IsBool()) fail(name, std::string("must be a boolean, got ") + type_name(*v));
    else out = v->GetBool();
  }
  return *this;
}

FieldReader& FieldReader::one_of(const char* name, std::string& out, const char* allowed, bool required) {
  std::string value;
  string(name, value, required);
  if (problem_ || value.empty()) return *this;
  std::string_view list(allowed);
  while (!list.empty()) {
    auto comma = list.find(',');
    if (list.substr(0, comma) == value) {
      out = value;
      return *this;
    }
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  fail(name, "'" + value + "' is not one of " + allowed);
  return *this;
}

FieldReader& FieldReader::object(const char* name, const rapidjson::Value*& out, bool required) {
  out = nullptr;
  if (auto* v = find(name, required)) {
    if (!v->IsObject()) fail(name, std::string("must be an object, got ") + type_name(*v));
    else out = v;
  }
  return *this;
}

FieldReader& FieldReader::array(const char* name, const rapidjson::Value*& out, bool required) {
  out = nullptr;
  if (auto* v = find(name, required)) {
    if (!v->IsArray()) fail(name, std::string("must be an array, got ") + type_name(*v));
    else out = v;
  }
  return *this;
}

std::string to_string(const rapidjson::Value& v) {
  JsonWriter w;
  w.value(v);
  return w.str();
}

}  // namespace migclock::net
