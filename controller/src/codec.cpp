#include "migclock/controller/codec.hpp"

#include "migclock/common/text_guard.hpp"

namespace migclock::controller {

using net::FieldReader;
using net::JsonWriter;

void write(JsonWriter& w, const ClockOffset& o) {
  w.begin_object()
      .key("offset_ns").value(o.offset_ns)
      .key("uncertainty_ns").value(o.uncertainty_ns)
      .key("rtt_ns").value(o.rtt_ns)
      .key("samples").value(o.samples)
      .key("measured_at_ns").value(o.measured_at_ns)
      .key("received_ns").value(o.received_ns)
      .end_object();
}

void write(JsonWriter& w, const Host& h) {
  w.begin_object()
      .key("hostname").value(h.hostname)
      .key("boot_id").value(h.boot_id)
      .key("agent_version").value(h.agent_version)
      .key("tsc_khz").value(h.tsc_khz)
      .key("scaling_supported").value(h.scaling_supported)
      .key("clocksource").value(h.clocksource)
      .key("offset_honoured").value(h.offset_honoured)
      .key("masterclock_possible").value(h.masterclock_possible)
      .key("invtsc").value(h.invtsc)
      .key("tsc_khz_source").value(h.tsc_khz_source)
      .key("kvm").value(h.kvm)
      .key("registered_ns").value(h.registered_ns)
      .key("last_seen_ns").value(h.last_seen_ns);
  w.key("realtime_offset_ns");
  if (h.offset) w.value(h.offset->offset_ns);
  else w.null();
  w.key("clock_offset");
  if (h.offset) write(w, *h.offset);
  else w.null();
  w.end_object();
}

void write(JsonWriter& w, const Vm& v) {
  w.begin_object()
      .key("uuid").value(v.uuid)
      .key("name").value(v.name)
      .key("state").value(v.state)
      .key("host").value(v.host)
      .key("updated_ns").value(v.updated_ns)
      .end_object();
}

void write(JsonWriter& w, const Migration& m) {
  w.begin_object()
      .key("id").value(m.id)
      .key("vm_uuid").value(m.vm_uuid)
      .key("vm_name").value(m.vm_name)
      .key("source").value(m.source)
      .key("destination").value(m.destination)
      .key("kind").value(m.kind)
      .key("created_by").value(m.created_by)
      .key("phase").value(phase_name(m.phase))
      .key("reason").value(m.reason)
      .key("terminal").value(is_terminal(m.phase))
      .key("created_ns").value(m.created_ns)
      .key("updated_ns").value(m.updated_ns)
      .key("version").value(m.version);
  w.key("history").begin_array();
  for (const auto& e : m.history) {
    w.begin_object()
        .key("phase").value(phase_name(e.phase))
        .key("host").value(e.host)
        .key("at_ns").value(e.at_ns)
        .key("received_ns").value(e.received_ns)
        .key("reason").value(e.reason)
        .end_object();
  }
  w.end_array();
  w.key("results").raw(m.results_json);
  w.key("snapshot");
  if (m.snapshot) {
    w.begin_object()
        .key("format").value(serialization::format_name(m.snapshot->format))
        .key("sha256").value(m.snapshot->sha256)
        .key("bytes").value(m.snapshot->bytes)
        .key("stored_ns").value(m.snapshot->stored_ns)
        .end_object();
  } else {
    w.null();
  }
  w.end_object();
}

void write(JsonWriter& w, const Command& c) {
  w.begin_object()
      .key("id").value(c.id)
      .key("host").value(c.host)
      .key("kind").value(c.kind)
      .key("vm_uuid").value(c.vm_uuid)
      .key("vm_name").value(c.vm_name)
      .key("state").value(c.state)
      .key("created_ns").value(c.created_ns)
      .key("delivered_ns").value(c.delivered_ns)
      .key("finished_ns").value(c.finished_ns)
      .key("message").value(c.message)
      .key("results").raw(c.results_json)
      .end_object();
}

namespace {
Error load_error(const char* what, const net::Problem& p) {
  return make_error(errc::malformed_input, std::string("journal ") + what + ": " + p.message);
}

template <class F>
Result<typename std::invoke_result_t<F, const rapidjson::Value&, FieldReader&>> read_doc(const char* what,
                                                                                        const std::string& json,
                                                                                        F&& f) {
  // Journals written before strings were checked may hold ill-formed UTF-8
  // that a peer got stored: repaired (U+FFFD) rather than refusing to start.
  auto d = net::parse_object(first_invalid_utf8(json) == std::string::npos ? json : valid_utf8(json), 64);
  if (!d) return load_error(what, d.problem());
  FieldReader r(*d);
  auto v = f(*d, r);
  if (!r.ok()) return load_error(what, *r.problem());
  return v;
}

void read_offset(FieldReader& r, ClockOffset& o) {
  r.int64("offset_ns", o.offset_ns).int64("uncertainty_ns", o.uncertainty_ns).int64("rtt_ns", o.rtt_ns)
      .int64("samples", o.samples).int64("measured_at_ns", o.measured_at_ns).int64("received_ns", o.received_ns);
}
}  // namespace

Result<ClockOffset> offset_from_json(const std::string& json) {
  return read_doc("offset", json, [](const rapidjson::Value&, FieldReader& r) {
    ClockOffset o;
    read_offset(r, o);
    return o;
  });
}

Result<Host> host_from_json(const std::string& json) {
  return read_doc("host", json, [](const rapidjson::Value&, FieldReader& r) {
    Host h;
    const rapidjson::Value* off = nullptr;
    r.string("hostname", h.hostname).string("boot_id", h.boot_id).string("agent_version", h.agent_version)
        .uint32("tsc_khz", h.tsc_khz).boolean("scaling_supported", h.scaling_supported)
        .string("clocksource", h.clocksource).string("offset_honoured", h.offset_honoured)
        .boolean("masterclock_possible", h.masterclock_possible).string("invtsc", h.invtsc)
        .string("tsc_khz_source", h.tsc_khz_source, false).string("kvm", h.kvm, false)  // since 0.2
        .int64("registered_ns", h.registered_ns).int64("last_seen_ns", h.last_seen_ns)
        .object("clock_offset", off);
    if (off) {
      FieldReader o(*off, "clock_offset");
      ClockOffset c;
      read_offset(o, c);
      if (o.ok()) h.offset = c;
    }
    return h;
  });
}

Result<Vm> vm_from_json(const std::string& json) {
  return read_doc("vm", json, [](const rapidjson::Value&, FieldReader& r) {
    Vm v;
    r.string("uuid", v.uuid).string("name", v.name).string("state", v.state).string("host", v.host)
        .int64("updated_ns", v.updated_ns);
    return v;
  });
}

Result<Migration> migration_from_json(const std::string& json) {
  return read_doc("migration", json, [](const rapidjson::Value& d, FieldReader& r) {
    Migration m;
    std::string phase;
    const rapidjson::Value* snap = nullptr;
    const rapidjson::Value* results = nullptr;
    r.string("id", m.id).string("vm_uuid", m.vm_uuid).string("vm_name", m.vm_name).string("source", m.source)
        .string("destination", m.destination).string("kind", m.kind).string("created_by", m.created_by)
        .string("phase", phase).string("reason", m.reason, true, 4096).int64("created_ns", m.created_ns)
        .int64("updated_ns", m.updated_ns).int64("version", m.version).object("snapshot", snap)
        .object("results", results);
    if (auto p = phase_from(phase)) m.phase = *p;
    if (results) m.results_json = net::to_string(*results);
    if (snap) {
      SnapshotInfo s;
      std::string format;
      FieldReader sr(*snap, "snapshot");
      sr.string("format", format).string("sha256", s.sha256).int64("bytes", s.bytes).int64("stored_ns", s.stored_ns);
      // Only two formats were ever stored; anything else reads as what
      // the stored bytes themselves say (snapshot_bytes).
      s.format = serialization::format_from_name(format).value_or(serialization::Format::binary);
      if (sr.ok()) m.snapshot = s;
    }
    auto it = d.FindMember("history");
    if (it != d.MemberEnd() && it->value.IsArray()) {
      for (const auto& e : it->value.GetArray()) {
        PhaseEvent pe;
        std::string ep;
        FieldReader er(e, "history");
        er.string("phase", ep).string("host", pe.host).int64("at_ns", pe.at_ns).int64("received_ns", pe.received_ns)
            .string("reason", pe.reason, true, 4096);
        if (auto p = phase_from(ep)) pe.phase = *p;
        m.history.push_back(std::move(pe));
      }
    }
    return m;
  });
}

Result<Command> command_from_json(const std::string& json) {
  return read_doc("command", json, [](const rapidjson::Value&, FieldReader& r) {
    Command c;
    const rapidjson::Value* results = nullptr;
    r.string("id", c.id).string("host", c.host).string("kind", c.kind).string("vm_uuid", c.vm_uuid)
        .string("vm_name", c.vm_name).string("state", c.state).int64("created_ns", c.created_ns)
        .int64("delivered_ns", c.delivered_ns).int64("finished_ns", c.finished_ns)
        .string("message", c.message, true, 4096).object("results", results);
    if (results) c.results_json = net::to_string(*results);
    return c;
  });
}

std::string token_to_json(const Token& t) {
  JsonWriter w;
  w.begin_object().key("scope").value(scope_name(t.scope)).key("created_ns").value(t.created_ns)
      .key("label").value(t.label);
  if (!t.host.empty()) w.key("host").value(t.host);
  w.end_object();
  return w.str();
}

Result<Token> token_from_json(const std::string& hash, const std::string& json) {
  return read_doc("token", json, [&](const rapidjson::Value&, FieldReader& r) {
    Token t;
    t.hash = hash;
    std::string scope;
    r.string("scope", scope).int64("created_ns", t.created_ns).string("label", t.label).string("host", t.host, false);
    t.scope = scope_from(scope).value_or(Scope::read);
    return t;
  });
}

}  // namespace migclock::controller
