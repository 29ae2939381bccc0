#include "migclock/serialization/file_report.hpp"

// cereal first: it configures rapidjson (assertions that throw).
#include <cereal/archives/json.hpp>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "utf8.hpp"

namespace migclock::serialization {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

// The writer copies string bytes as they are; a snapshot that failed the
// utf8_string rule (or an error message quoting its bytes) must not make
// the report invalid JSON. Keys and syntax are ASCII, so replacing
// ill-formed bytes in the finished text touches string contents only.
std::string finished(const rapidjson::StringBuffer& buffer) {
  return detail::valid_utf8(std::string_view(buffer.GetString(), buffer.GetSize())) + "\n";
}

void put(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_file_facts(Writer& w, const FileReport& r) {
  put(w, "file", r.path);
  put(w, "format", format_name(r.format));
  w.Key("bytes");
  w.Uint64(r.bytes);
  if (r.envelope) {
    put(w, "format_version", std::to_string(r.envelope->major) + "." + std::to_string(r.envelope->minor));
    w.Key("payload_bytes");
    w.Uint(r.envelope->payload_length);
  }
}

void write_checks(Writer& w, const FileReport& r) {
  w.Key("valid");
  w.Bool(r.ok());
  if (r.failure) put(w, "error", r.failure->message());
  w.Key("validation_errors");
  w.StartArray();
  for (const auto& e : r.errors) {
    w.StartObject();
    put(w, "field", e.field);
    put(w, "rule", e.rule);
    put(w, "message", e.message);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

FileReport examine_file(const std::string& path) {
  FileReport r;
  r.path = path;
  auto format = format_for_path(path);
  if (!format) {
    r.failure = format.error();
    return r;
  }
  r.format = *format;
  auto bytes = read_snapshot_bytes(path);
  if (!bytes) {
    r.failure = bytes.error();
    return r;
  }
  r.bytes = bytes->size();
  if (r.format == Format::binary) {
    if (auto header = read_envelope_header(*bytes)) r.envelope = *header;
  }
  auto snap = decode(*bytes, r.format);
  if (!snap) {
    r.failure = Error{snap.error().code, path + ": " + snap.error().context};
    return r;
  }
  r.snapshot = std::move(*snap);
  r.errors = validate(*r.snapshot);
  return r;
}

std::string file_report_json(const FileReport& r, bool with_snapshot) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  write_file_facts(w, r);
  write_checks(w, r);
  if (with_snapshot && r.snapshot) {
    auto json = encode(*r.snapshot, Format::json);
    rapidjson::Document doc;  // our own encoding: parsing it cannot fail
    if (json && !doc.Parse(json->data(), json->size()).HasParseError()) {
      w.Key("snapshot");
      doc.Accept(w);
    }
  }
  w.EndObject();
  return finished(buffer);
}

std::string convert_report_json(const std::string& in, const std::string& out, Format format, long long bytes) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "in", in);
  put(w, "out", out);
  put(w, "format", format_name(format));
  w.Key("bytes");
  w.Int64(bytes);
  w.EndObject();
  return finished(buffer);
}

}  // namespace migclock::serialization
