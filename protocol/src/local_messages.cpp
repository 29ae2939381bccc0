#include "migclock/protocol/local_messages.hpp"

#include <limits>

namespace migclock::protocol {

using net::FieldReader;
using net::JsonWriter;

namespace {
net::Problem required(const char* field) {
  return net::problem(net::ApiErrc::bad_request, std::string(field) + ": required", field);
}
}  // namespace

void write(JsonWriter& w, const HookEvent& e) {
  w.begin_object();
  w.key("object").value(e.object);
  w.key("name").value(e.name);
  w.key("op").value(e.op);
  w.key("sub_op").value(e.sub_op);
  w.key("extra").value(e.extra);
  w.key("uuid").value(e.uuid);
  w.key("sent_at_ns").value(e.sent_at_ns);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, HookEvent& e) {
  FieldReader r(v);
  r.string("object", e.object, false, kMaxHookField).string("name", e.name, false, kMaxHookField)
      .string("op", e.op, true, kMaxHookField).string("sub_op", e.sub_op, false, kMaxHookField)
      .string("extra", e.extra, false, kMaxHookField).string("uuid", e.uuid, false, kMaxHookField)
      .int64("sent_at_ns", e.sent_at_ns, false);
  if (!r.ok()) return r.problem();
  if (e.op.empty()) return required("op");
  return std::nullopt;
}

void write(JsonWriter& w, const HookEventRecorded&) { w.begin_object().key("recorded").value(true).end_object(); }

void write(JsonWriter& w, const MigrateBeginRequest& m) {
  w.begin_object().key("name").value(m.name).key("xml").value(m.xml).end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, MigrateBeginRequest& m) {
  FieldReader r(v);
  // The XML is bounded by the body it came in (the server's body limit).
  r.string("name", m.name, false, kMaxHookField).string("xml", m.xml, true, std::numeric_limits<std::size_t>::max());
  if (!r.ok()) return r.problem();
  if (m.xml.empty()) return required("xml");
  return std::nullopt;
}

void write(JsonWriter& w, const MigrateBeginReply& m) {
  w.begin_object();
  w.key("action").value(m.action);
  w.key("message").value(m.message);
  w.key("warning").value(m.warning);
  w.key("policy").value(m.policy);
  w.key("host_tsc_khz").value(m.host_tsc_khz);
  w.key("source_tsc_khz").optional(m.source_tsc_khz);
  w.key("frequency_hz").value(m.frequency_hz);
  w.key("xml").value(m.xml);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, MigrateBeginReply& m) {
  // Lenient: a reply without an action leaves the XML alone (the hook's
  // safe default), so every field is optional.
  constexpr auto kAny = std::numeric_limits<std::size_t>::max();
  FieldReader r(v);
  r.string("action", m.action, false).string("message", m.message, false, kAny)
      .string("warning", m.warning, false, kAny).string("policy", m.policy, false)
      .int64("host_tsc_khz", m.host_tsc_khz, false).int64("source_tsc_khz", m.source_tsc_khz)
      .int64("frequency_hz", m.frequency_hz, false).string("xml", m.xml, false, kAny);
  return r.problem();
}

void write(JsonWriter& w, const VmmSnapshotStored& s) { w.begin_object().key("stored").value(s.stored).end_object(); }

std::optional<net::Problem> read(const rapidjson::Value& v, VmmSnapshotStored& s) {
  FieldReader r(v);
  r.string("stored", s.stored, true, 4096);
  return r.problem();
}

void write(JsonWriter& w, const VmmRestoreInputs& in) {
  w.begin_object();
  w.key("snapshot").raw(in.snapshot_json);
  w.key("realtime_offset_ns").value(in.realtime_offset_ns);
  w.key("uncertainty_ns").value(in.uncertainty_ns);
  w.key("evidence").value(in.evidence);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, VmmRestoreInputs& in) {
  const rapidjson::Value* snap = nullptr;
  FieldReader r(v);
  r.object("snapshot", snap, true).int64("realtime_offset_ns", in.realtime_offset_ns)
      .int64("uncertainty_ns", in.uncertainty_ns).string("evidence", in.evidence, false, 4096);
  if (!r.ok()) return r.problem();
  in.snapshot_json = net::to_string(*snap);
  return std::nullopt;
}

void write(JsonWriter& w, const SyncScheduled&) { w.begin_object().key("scheduled").value(true).end_object(); }

}  // namespace migclock::protocol
