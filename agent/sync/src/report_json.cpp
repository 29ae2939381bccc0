#include "migclock/agent_sync/report_json.hpp"

namespace migclock::agent_sync {

namespace {

void field(JsonWriter& w, const char* key, int64_t v) {
  w.Key(key);
  w.Int64(v);
}

template <class T>
std::string render(const T& v) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_json(w, v);
  return buf.GetString();
}

}  // namespace

void write_json(JsonWriter& w, const OffsetEstimate& e) {
  w.StartObject();
  field(w, "median_offset_ns", e.median_offset_ns);
  field(w, "spread_ns", e.spread_ns);
  field(w, "min_rtt_ns", e.min_rtt_ns);
  field(w, "median_rtt_ns", e.median_rtt_ns);
  field(w, "asymmetry_bound_ns", e.asymmetry_bound_ns);
  field(w, "statistical_ns", e.statistical_ns);
  field(w, "samples_taken", static_cast<int64_t>(e.samples_taken));
  field(w, "samples_kept", static_cast<int64_t>(e.samples_kept));
  field(w, "measured_at_host_ns", e.measured_at_host_ns);
  w.EndObject();
}

void write_json(JsonWriter& w, const SyncReport& r) {
  w.StartObject();
  w.Key("policy");
  w.String(to_string(r.policy));
  field(w, "target_offset_ns", r.target_offset_ns);
  field(w, "target_uncertainty_ns", r.target_uncertainty_ns);
  w.Key("target_source");
  w.String(r.target_source.c_str());
  if (r.before) {
    w.Key("before");
    write_json(w, *r.before);
  }
  if (r.after) {
    w.Key("after");
    write_json(w, *r.after);
  }
  w.Key("steps");
  w.StartArray();
  for (const auto& s : r.steps) {
    w.StartObject();
    field(w, "assumed_delay_ns", s.assumed_delay_ns);
    field(w, "target_guest_ns", s.target_guest_ns);
    field(w, "step_ns", s.step_ns);
    field(w, "set_call_ns", s.set_call_ns);
    field(w, "sent_at_mono_ns", s.sent_at_mono_ns);
    w.Key("after");
    write_json(w, s.after);
    w.EndObject();
  }
  w.EndArray();
  if (r.settled) {
    w.Key("settled");
    write_json(w, *r.settled);
  }
  if (r.learned_apply_delay_ns) field(w, "learned_apply_delay_ns", *r.learned_apply_delay_ns);
  if (r.channel_bias_ns != 0) field(w, "channel_bias_ns", r.channel_bias_ns);
  w.Key("rtc_reinjection_reset");
  w.Bool(r.rtc_reinjection_reset);
  if (!r.rtc_error.empty()) {
    w.Key("rtc_error");
    w.String(r.rtc_error.c_str());
  }
  field(w, "duration_ns", r.duration_ns());
  w.EndObject();
}

std::string to_json(const OffsetEstimate& e) { return render(e); }
std::string to_json(const SyncReport& r) { return render(r); }

}  // namespace migclock::agent_sync
