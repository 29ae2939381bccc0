#include "migclock/agent/sync_json.hpp"

namespace migclock::agent {

void write_sync(net::JsonWriter& j, const SyncOutcome& o) {
  j.begin_object();
  j.key("reason").value(o.reason);
  j.key("policy").value(to_string(o.policy));
  j.key("ok").value(o.ok);
  j.key("cancelled").value(o.cancelled);
  j.key("message").value(o.message);
  j.key("target");
  protocol::write(j, target_of(o));
  j.key("residual_ns").optional(o.residual_ns());
  j.key("channel").value(o.channel);
  j.key("channel_note").value(o.channel_note);
  j.key("offset_before_ns").optional(o.offset_before_ns);
  j.key("offset_after_ns").optional(o.offset_after_ns);
  j.key("spread_ns").value(o.spread_ns);
  j.key("rtt_ns").value(o.rtt_ns);
  j.key("asymmetry_bound_ns").value(o.asymmetry_bound_ns);
  j.key("statistical_ns").value(o.statistical_ns);
  j.key("before_spread_ns").value(o.before_spread_ns);
  j.key("before_rtt_ns").value(o.before_rtt_ns);
  j.key("corrections").value(o.corrections);
  j.key("agent_wait_ns").value(o.agent_wait_ns);
  j.key("sync_ns").value(o.sync_ns);
  j.key("started_ns").value(o.started_realtime_ns);
  j.key("finished_ns").value(o.finished_realtime_ns);
  j.key("verdict").value(to_string(o.verdict));
  j.key("verdict_reason").value(o.verdict_reason);
  j.key("residual_threshold_ns").value(o.residual_threshold_ns);
  j.key("uncertainty_limit_ns").value(o.uncertainty_limit_ns);
  j.end_object();
}

}  // namespace migclock::agent
