#include "migclock/protocol/host_messages.hpp"

#include "migclock/protocol/enum_field.hpp"

namespace migclock::protocol {

using net::FieldReader;
using net::JsonWriter;
using serialization::enum_label;

void write(JsonWriter& w, const HostRegistration& h) {
  w.begin_object();
  w.key("hostname").value(h.hostname);
  w.key("boot_id").value(h.boot_id);
  w.key("agent_version").value(h.agent_version);
  w.key("tsc_khz").value(h.tsc_khz);
  w.key("scaling_supported").value(h.scaling_supported);
  w.key("clocksource").value(h.clocksource);
  w.key("offset_honoured").value(enum_label(h.offset_honoured));
  w.key("tsc_khz_source").value(enum_label(h.tsc_khz_source));
  w.key("kvm").value(enum_label(h.kvm));
  w.key("masterclock_possible").value(h.masterclock_possible);
  if (h.invtsc) w.key("invtsc").value(*h.invtsc);
  w.key("vms").begin_array();
  for (const auto& v : h.vms)
    w.begin_object().key("uuid").value(v.uuid).key("name").value(v.name).key("state").value(v.state).end_object();
  w.end_array();
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, HostRegistration& h) {
  const rapidjson::Value* vms = nullptr;
  std::string invtsc;
  FieldReader r(v);
  r.string("hostname", h.hostname).string("boot_id", h.boot_id, false).string("agent_version", h.agent_version, false)
      .uint32("tsc_khz", h.tsc_khz).boolean("scaling_supported", h.scaling_supported)
      .string("clocksource", h.clocksource, false);
  read_enum(r, "offset_honoured", h.offset_honoured);
  r.boolean("masterclock_possible", h.masterclock_possible).one_of("invtsc", invtsc, "yes,no,unknown", false);
  read_enum(r, "tsc_khz_source", h.tsc_khz_source, false);
  read_enum(r, "kvm", h.kvm, false);
  r.array("vms", vms);
  if (!r.ok()) return r.problem();
  if (!invtsc.empty()) h.invtsc = invtsc;
  if (!vms) return std::nullopt;
  if (vms->Size() > kMaxVmsPerHost)
    return net::problem(net::ApiErrc::bad_request, "more than " + std::to_string(kMaxVmsPerHost) + " VMs", "vms");
  for (rapidjson::SizeType i = 0; i < vms->Size(); ++i) {
    VmEntry e;
    FieldReader vr((*vms)[i], "vms[" + std::to_string(i) + "]");
    vr.string("uuid", e.uuid).string("name", e.name).string("state", e.state, false);
    if (!vr.ok()) return vr.problem();
    if (e.uuid.empty()) return net::problem(net::ApiErrc::bad_request, "empty uuid", vr.field_name("uuid"));
    h.vms.push_back(std::move(e));
  }
  return std::nullopt;
}

void write(JsonWriter& w, const TimeRequest& t) { w.begin_object().key("t1_ns").value(t.t1_ns).end_object(); }

std::optional<net::Problem> read(const rapidjson::Value& v, TimeRequest& t) {
  FieldReader r(v);
  r.int64("t1_ns", t.t1_ns);
  return r.problem();
}

void write(JsonWriter& w, const TimeReply& t) {
  w.begin_object().key("t1_ns").value(t.t1_ns).key("t2_ns").value(t.t2_ns).key("t3_ns").value(t.t3_ns).end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, TimeReply& t) {
  FieldReader r(v);
  r.int64("t1_ns", t.t1_ns, false).int64("t2_ns", t.t2_ns).int64("t3_ns", t.t3_ns);
  return r.problem();
}

void write(JsonWriter& w, const ClockOffsetReport& o) {
  w.begin_object();
  w.key("offset_ns").value(o.offset_ns).key("uncertainty_ns").value(o.uncertainty_ns).key("rtt_ns").value(o.rtt_ns);
  w.key("samples").value(o.samples).key("measured_at_ns").value(o.measured_at_ns);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, ClockOffsetReport& o) {
  FieldReader r(v);
  r.int64("offset_ns", o.offset_ns).int64("uncertainty_ns", o.uncertainty_ns).int64("rtt_ns", o.rtt_ns, false)
      .int64("samples", o.samples, false).int64("measured_at_ns", o.measured_at_ns);
  return r.problem();
}

}  // namespace migclock::protocol
