#include "migclock/agent_sync/report_json.hpp"

namespace migclock::agent_sync {

namespace {

template <class T>
std::string render(const T& v) {
  JsonWriter w;
  write_json(w, v);
  return w.str();
}

}  // namespace

void write_json(JsonWriter& w, const OffsetEstimate& e) {
  w.begin_object()
      .field("median_offset_ns", e.median_offset_ns)
      .field("spread_ns", e.spread_ns)
      .field("min_rtt_ns", e.min_rtt_ns)
      .field("median_rtt_ns", e.median_rtt_ns)
      .field("asymmetry_bound_ns", e.asymmetry_bound_ns)
      .field("statistical_ns", e.statistical_ns)
      .field("samples_taken", static_cast<int64_t>(e.samples_taken))
      .field("samples_kept", static_cast<int64_t>(e.samples_kept))
      .field("measured_at_host_ns", e.measured_at_host_ns)
      .end_object();
}

void write_json(JsonWriter& w, const SyncReport& r) {
  w.begin_object()
      .field("policy", to_string(r.policy))
      .field("target_offset_ns", r.target_offset_ns)
      .field("target_uncertainty_ns", r.target_uncertainty_ns)
      .field("target_source", r.target_source);
  if (r.before) write_json(w.key("before"), *r.before);
  if (r.after) write_json(w.key("after"), *r.after);
  w.key("steps").begin_array();
  for (const auto& s : r.steps) {
    w.begin_object()
        .field("assumed_delay_ns", s.assumed_delay_ns)
        .field("target_guest_ns", s.target_guest_ns)
        .field("step_ns", s.step_ns)
        .field("set_call_ns", s.set_call_ns)
        .field("sent_at_mono_ns", s.sent_at_mono_ns);
    write_json(w.key("after"), s.after);
    w.end_object();
  }
  w.end_array();
  if (r.settled) write_json(w.key("settled"), *r.settled);
  if (r.learned_apply_delay_ns) w.field("learned_apply_delay_ns", *r.learned_apply_delay_ns);
  if (r.channel_bias_ns != 0) w.field("channel_bias_ns", r.channel_bias_ns);
  w.field("rtc_reinjection_reset", r.rtc_reinjection_reset);
  if (!r.rtc_error.empty()) w.field("rtc_error", r.rtc_error);
  w.field("duration_ns", r.duration_ns()).end_object();
}

std::string to_json(const OffsetEstimate& e) { return render(e); }
std::string to_json(const SyncReport& r) { return render(r); }

}  // namespace migclock::agent_sync
