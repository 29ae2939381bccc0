#include "migclock/protocol/migration_messages.hpp"

namespace migclock::protocol {

using net::FieldReader;
using net::JsonWriter;

void write(JsonWriter& w, const MigrationAnnounce& a) {
  w.begin_object();
  w.key("vm_uuid").value(a.vm_uuid);
  w.key("vm_name").value(a.vm_name);
  w.key("source").value(a.source);
  if (!a.destination.empty()) w.key("destination").value(a.destination);
  w.key("kind").value(a.kind);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, MigrationAnnounce& a) {
  FieldReader r(v);
  r.string("vm_uuid", a.vm_uuid).string("vm_name", a.vm_name, false).string("source", a.source)
      .string("destination", a.destination, false).one_of("kind", a.kind, kMigrationKinds, false);
  return r.problem();
}

void write(JsonWriter& w, const MigrationRef& m) {
  w.begin_object().key("id").value(m.id).key("kind").value(m.kind).end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, MigrationRef& m) {
  FieldReader r(v);
  r.string("id", m.id).string("kind", m.kind, false);
  return r.problem();
}

void write(JsonWriter& w, const MigrationRefPage& p) {
  w.begin_object().key("items").begin_array();
  for (const auto& m : p.items) write(w, m);
  w.end_array().end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, MigrationRefPage& p) {
  const rapidjson::Value* items = nullptr;
  FieldReader r(v);
  r.array("items", items);
  if (!r.ok()) return r.problem();
  if (!items) return std::nullopt;
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    MigrationRef m;
    FieldReader ir((*items)[i], "items[" + std::to_string(i) + "]");
    ir.string("id", m.id).string("kind", m.kind, false);
    if (!ir.ok()) return ir.problem();
    p.items.push_back(std::move(m));
  }
  return std::nullopt;
}

void write(JsonWriter& w, const SyncTarget& t) {
  w.begin_object();
  w.key("mode").value(t.mode);
  w.key("offset_ns").value(t.offset_ns);
  w.key("uncertainty_ns").value(t.uncertainty_ns);
  w.key("source").value(t.source);
  w.end_object();
}

namespace {

// The two forms differ only in the policy and in how absent offsets read.
void write_sync(JsonWriter& w, const SyncResults& s, bool command_form) {
  w.begin_object();
  if (command_form) {
    w.key("policy").value(s.policy.value_or(""));
    w.key("guest_offset_before_ns").optional(s.guest_offset_before_ns);
    w.key("guest_offset_after_ns").optional(s.guest_offset_after_ns);
  } else {
    if (s.guest_offset_before_ns) w.key("guest_offset_before_ns").value(*s.guest_offset_before_ns);
    if (s.guest_offset_after_ns) w.key("guest_offset_after_ns").value(*s.guest_offset_after_ns);
  }
  w.key("sync_rtt_ns").value(s.sync_rtt_ns);
  w.key("sync_spread_ns").value(s.sync_spread_ns);
  w.key("target");
  write(w, s.target);
  w.end_object();
}

}  // namespace

void write(JsonWriter& w, const SyncResults& s) { write_sync(w, s, false); }

std::string results_json(const SyncResults& s) { return encode(s); }

std::string command_results_json(const SyncResults& s) {
  JsonWriter w;
  write_sync(w, s, true);
  return w.str();
}

std::optional<net::Problem> read(const rapidjson::Value& v, SyncResults& s) {
  const rapidjson::Value* target = nullptr;
  std::string policy;
  FieldReader r(v, "results");
  r.string("policy", policy, false).int64("guest_offset_before_ns", s.guest_offset_before_ns)
      .int64("guest_offset_after_ns", s.guest_offset_after_ns).int64("sync_rtt_ns", s.sync_rtt_ns)
      .int64("sync_spread_ns", s.sync_spread_ns).object("target", target);
  if (!r.ok()) return r.problem();
  if (!policy.empty()) s.policy = policy;
  if (!target) return std::nullopt;  // agents before targets sent none
  FieldReader t(*target, "results.target");
  t.string("mode", s.target.mode).int64("offset_ns", s.target.offset_ns)
      .int64("uncertainty_ns", s.target.uncertainty_ns).string("source", s.target.source, true, 4096);
  return t.problem();
}

void write(JsonWriter& w, const Verification& x) {
  w.begin_object();
  w.key("method").value(x.method);
  w.key("channel").value(x.channel);
  w.key("verdict").value(x.verdict);
  w.key("residual_ns").optional(x.residual_ns);
  w.key("uncertainty_ns").value(x.uncertainty_ns);
  w.key("statistical_ns").value(x.statistical_ns);
  w.key("spread_ns").value(x.spread_ns);
  w.key("rtt_ns").value(x.rtt_ns);
  w.key("residual_threshold_ns").value(x.residual_threshold_ns);
  w.key("uncertainty_limit_ns").value(x.uncertainty_limit_ns);
  w.key("reason").value(x.reason);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, Verification& x) {
  FieldReader r(v, "verification");
  r.string("method", x.method, true, 1024).string("channel", x.channel).string("verdict", x.verdict)
      .int64("residual_ns", x.residual_ns).int64("uncertainty_ns", x.uncertainty_ns)
      .int64("statistical_ns", x.statistical_ns).int64("spread_ns", x.spread_ns).int64("rtt_ns", x.rtt_ns)
      .int64("residual_threshold_ns", x.residual_threshold_ns).int64("uncertainty_limit_ns", x.uncertainty_limit_ns)
      .string("reason", x.reason, true, kMaxReasonBytes);
  return r.problem();
}

std::string results_json(const Verification& x) {
  JsonWriter w;
  w.begin_object().key("verification");
  write(w, x);
  w.end_object();
  return w.str();
}

std::string restore_note_json(const std::string& how) {
  JsonWriter w;
  w.begin_object().key("restore").value(how).end_object();
  return w.str();
}

std::optional<net::Problem> check_results(const rapidjson::Value& results) {
  FieldReader r(results, "results");
  std::optional<int64_t> i;
  const rapidjson::Value* obj = nullptr;
  r.int64("downtime_ns", i).int64("guest_offset_before_ns", i).int64("guest_offset_after_ns", i)
      .int64("sync_rtt_ns", i).int64("sync_spread_ns", i).object("verification", obj);
  return r.problem();
}

void write(JsonWriter& w, const PhaseEvent& e) {
  w.begin_object();
  w.key("phase").value(phase_name(e.phase));
  w.key("host").value(e.host);
  w.key("at_ns").value(e.at_ns);
  if (!e.reason.empty()) w.key("reason").value(e.reason);
  if (!e.results_json.empty()) w.key("results").raw(e.results_json);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, PhaseEvent& e) {
  std::string phase;
  const rapidjson::Value* results = nullptr;
  FieldReader r(v);
  r.string("phase", phase).string("host", e.host).int64("at_ns", e.at_ns)
      .string("reason", e.reason, false, kMaxReasonBytes).object("results", results);
  if (!r.ok()) return r.problem();
  auto ph = phase_from(phase);
  if (!ph) return net::problem(net::ApiErrc::bad_request, "unknown phase '" + phase + "'", "phase");
  e.phase = *ph;
  if (results) {
    if (auto bad = check_results(*results)) return bad;
    e.results_json = net::to_string(*results);
  }
  return std::nullopt;
}

void write(JsonWriter& w, const RestoreInputs& in) {
  w.begin_object().key("migration_id").value(in.migration_id).key("source").value(in.source)
      .key("destination").value(in.destination).key("snapshot").raw(in.snapshot_json)
      .key("realtime_offset_ns").value(in.realtime_offset_ns).key("uncertainty_ns").value(in.uncertainty_ns)
      .key("measured_at_ns").value(in.measured_at_ns).end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, RestoreInputs& in) {
  const rapidjson::Value* snap = nullptr;
  FieldReader r(v);
  r.string("migration_id", in.migration_id, false).string("source", in.source)
      .string("destination", in.destination, false).object("snapshot", snap, true)
      .int64("realtime_offset_ns", in.realtime_offset_ns).int64("uncertainty_ns", in.uncertainty_ns)
      .int64("measured_at_ns", in.measured_at_ns);
  if (!r.ok()) return r.problem();
  in.snapshot_json = net::to_string(*snap);
  return std::nullopt;
}

}  // namespace migclock::protocol
