#include "migclock/serialization/file_report.hpp"

#include "migclock/common/json_writer.hpp"
#include "utf8.hpp"

namespace migclock::serialization {
namespace {

using Writer = PrettyJsonWriter;

// The writer copies string bytes as they are; a snapshot that failed the
// utf8_string rule (or an error message quoting its bytes) must not make
// the report invalid JSON. Keys and syntax are ASCII, so replacing
// ill-formed bytes in the finished text touches string contents only.
std::string finished(const Writer& w) { return detail::valid_utf8(w.str()) + "\n"; }

void write_file_facts(Writer& w, const FileReport& r) {
  w.field("file", r.path).field("format", format_name(r.format)).field("bytes", static_cast<uint64_t>(r.bytes));
  if (r.envelope) {
    w.field("format_version", std::to_string(r.envelope->major) + "." + std::to_string(r.envelope->minor))
        .field("payload_bytes", static_cast<uint64_t>(r.envelope->payload_length));
  }
}

void write_checks(Writer& w, const FileReport& r) {
  w.field("valid", r.ok());
  if (r.failure) w.field("error", r.failure->message());
  w.key("validation_errors").begin_array();
  for (const auto& e : r.errors)
    w.begin_object().field("field", e.field).field("rule", e.rule).field("message", e.message).end_object();
  w.end_array();
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
  Writer w;
  w.begin_object();
  write_file_facts(w, r);
  write_checks(w, r);
  if (with_snapshot && r.snapshot) {
    auto json = encode(*r.snapshot, Format::json);
    rapidjson::Document doc;  // our own encoding: parsing it cannot fail
    if (json && !doc.Parse(json->data(), json->size()).HasParseError()) {
      w.key("snapshot").value(doc);
    }
  }
  w.end_object();
  return finished(w);
}

std::string convert_report_json(const std::string& in, const std::string& out, Format format, long long bytes) {
  Writer w;
  w.begin_object()
      .field("in", in)
      .field("out", out)
      .field("format", format_name(format))
      .field("bytes", static_cast<int64_t>(bytes))
      .end_object();
  return finished(w);
}

}  // namespace migclock::serialization
