#include "migclock/agent/json_out.hpp"

namespace migclock::agent {

void write_sync(JsonOut& j, const SyncOutcome& o) {
  j.w.StartObject();
  j.kv("reason", o.reason);
  j.kv("policy", to_string(o.policy));
  j.kv("ok", o.ok);
  j.kv("cancelled", o.cancelled);
  j.kv("message", o.message);
  j.w.Key("offset_before_ns");
  if (o.offset_before_ns) j.w.Int64(*o.offset_before_ns); else j.w.Null();
  j.w.Key("offset_after_ns");
  if (o.offset_after_ns) j.w.Int64(*o.offset_after_ns); else j.w.Null();
  j.kv("spread_ns", o.spread_ns);
  j.kv("rtt_ns", o.rtt_ns);
  j.kv("corrections", o.corrections);
  j.kv("agent_wait_ns", o.agent_wait_ns);
  j.kv("sync_ns", o.sync_ns);
  j.kv("started_ns", o.started_realtime_ns);
  j.kv("finished_ns", o.finished_realtime_ns);
  j.w.EndObject();
}

}  // namespace migclock::agent
