#include "migclock/agent_sync/apply_delay_memory.hpp"

namespace migclock::agent_sync {

void ApplyDelayMemory::fill(SyncOptions& o, const std::string& vm, const std::string& event_kind) const {
  o.apply_delay_hint_ns = first_.hint(first_key(vm, event_kind));
  o.correction_delay_hint_ns = corrections_.hint(vm);
  o.apply_jitter_ns = corrections_.jitter_ns(vm);
}

void ApplyDelayMemory::learn(const SyncReport& r, const std::string& vm, const std::string& event_kind) {
  if (auto first = r.first_step_delay_ns()) first_.record(first_key(vm, event_kind), *first);
  for (int64_t d : r.correction_delays_ns()) corrections_.record(vm, d);
}

void ApplyDelayMemory::forget(const std::string& vm, const std::string& event_kind) {
  first_.forget(first_key(vm, event_kind));
  corrections_.forget(vm);
}

}  // namespace migclock::agent_sync
