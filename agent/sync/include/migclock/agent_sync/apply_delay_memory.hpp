// What the next sync of a VM should assume about guest-set-time's
// send-to-apply delay, learned from its earlier syncs.
//
// The first step after an event and the corrections after it run on
// different paths (SyncOptions::correction_delay_hint_ns): the first one's
// delay depends on the event (after a migration the destination's QEMU is
// cold), the corrections' does not. So the first step's delay is tracked
// per (VM, event kind), the corrections' per VM.
#pragma once

#include <string>

#include "migclock/agent_sync/apply_delay_tracker.hpp"
#include "migclock/agent_sync/clock_sync.hpp"

namespace migclock::agent_sync {

class ApplyDelayMemory {
 public:
  // Sets the hints and the jitter gate of `o` for a sync of `vm` after an
  // event of `event_kind` (any stable label: "migrated", "resumed", ...).
  void fill(SyncOptions& o, const std::string& vm, const std::string& event_kind) const;
  void learn(const SyncReport& r, const std::string& vm, const std::string& event_kind);
  void forget(const std::string& vm, const std::string& event_kind);

 private:
  static std::string first_key(const std::string& vm, const std::string& event_kind) { return vm + "\n" + event_kind; }
  ApplyDelayTracker first_;
  ApplyDelayTracker corrections_;
};

}  // namespace migclock::agent_sync
