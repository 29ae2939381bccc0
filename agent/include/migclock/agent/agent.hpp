// The agent core: follows libvirt, captures on the source, syncs guest
// clocks on the destination, answers the hook and owned VMMs. The local API
// (local_api.hpp) and main() sit on top; nothing here knows about HTTP.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "migclock/agent/capture.hpp"
#include "migclock/agent/config.hpp"
#include "migclock/agent/controller_link.hpp"
#include "migclock/agent/host_profile.hpp"
#include "migclock/agent/inventory.hpp"
#include "migclock/agent/libvirt_session.hpp"
#include "migclock/agent/metrics.hpp"
#include "migclock/agent/outbox.hpp"
#include "migclock/agent/shipper.hpp"
#include "migclock/agent/sync_runner.hpp"
#include "migclock/agent/tsc_pin.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/protocol/local_messages.hpp"

namespace migclock::agent {

// One libvirt hook call as the hook reports it (protocol/local_messages.hpp).
using HookEvent = protocol::HookEvent;

struct MigrateBeginResult {
  TscPinDecision decision;
  std::string xml;  // the new XML for TscPinAction::pin, else empty
  TscPinInputs inputs;
};

// What an owned VMM gets back on the destination.
struct RestoreInputs {
  snapshot::Snapshot snapshot;
  int64_t realtime_offset_ns = 0;  // destination realtime − source realtime
  int64_t uncertainty_ns = 0;
  std::string evidence;            // where the offset came from
};

class Agent {
 public:
  Agent(AgentConfig cfg, const TimeSource& time);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Probes the host, connects to libvirt (in the background if the first
  // attempt fails), starts the event worker.
  void start();
  void stop();
  // SIGHUP: new settings; a changed URI reconnects. Returns what changed.
  std::string reload(AgentConfig cfg);

  AgentConfig config() const;
  Metrics& metrics() { return metrics_; }
  const HostProfile& host() const { return host_; }
  bool libvirt_connected() const { return session_ && session_->connected(); }
  std::vector<DomainRecord> domains() const { return inventory_.all(); }
  std::optional<DomainRecord> find_domain(const std::string& uuid_or_name) const;

  // On request (API) or on SUSPENDED_MIGRATED: capture and put in the outbox.
  Result<CaptureReport> capture(const std::string& uuid_or_name, const std::string& kind);
  // On request (local API, controller command): sync now with the VM's policy.
  Status request_sync(const std::string& uuid_or_name, SyncCause cause);
  void record_hook_event(const HookEvent& ev);
  MigrateBeginResult migrate_begin(const std::string& name, const std::string& xml);
  // Owned VMMs.
  Result<std::string> accept_vmm_snapshot(const snapshot::Snapshot& s);
  Result<RestoreInputs> restore_inputs(const std::string& vm_id) const;
  Outbox& outbox() { return outbox_; }

 private:
  void on_libvirt_event(DomainEvent ev);
  void event_loop();
  void handle(const DomainEvent& ev);
  void refresh_inventory();
  // Re-reads one domain into the inventory; `state_from_event` (the state
  // the event being handled implies) overrides the state read. False when
  // libvirt no longer knows the domain.
  bool refresh_domain(const std::string& uuid, const char* state_from_event = nullptr);
  void tag_domain_source(const std::string& uuid);
  void schedule_sync(const std::string& uuid, const std::string& name, SyncCause cause, int64_t event_mono_ns);
  // Where the sync puts the guest's clock (sync_target.cpp): the domain's
  // <clock>, or continuity with the guest's pre-pause offset.
  void choose_target(SyncRequest& req, const std::string& clock_xml, const AgentConfig& cfg);
  // Source of a live migration (pre_pause.cpp): the guest's offset while it
  // still runs, kept for the capture at the pause. Measured on a thread of
  // its own: a guest agent that stops answering mid-migration must not hold
  // up the event loop (the capture at SUSPENDED_MIGRATED comes next).
  void request_pre_pause_measurement(const DomainEvent& ev);
  void pre_pause_loop();
  void measure_before_pause(const DomainEvent& ev);
  std::optional<snapshot::GuestTime> take_pre_pause(const std::string& uuid);
  void on_sync_done(const SyncRequest& req, const SyncOutcome& outcome);
  // Controller hand-off (shipper.hpp, wired in agent_shipping.cpp).
  void start_shipping(const AgentConfig& cfg);
  void wake_shipper();
  Status run_command(const ControllerCommand& c);  // protocol §4

  const TimeSource& time_;
  mutable std::mutex cfg_mu_;
  AgentConfig cfg_;
  HostProfile host_;
  Metrics metrics_;
  Inventory inventory_;
  Outbox outbox_;
  std::unique_ptr<LibvirtSession> session_;
  std::unique_ptr<SyncRunner> syncs_;

  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<DomainEvent> queue_;
  bool stopping_ = false;
  // Per VM: when its last SUSPENDED event arrived (monotonic raw): a paused
  // guest's clock stands still, so resume − this is what it missed.
  std::mutex suspended_mu_;
  std::map<std::string, int64_t> suspended_at_mono_ns_;
  // Per VM: QEMU's own timestamps (host realtime) of its last STOP and of
  // the RESUME after it (0: none since): the pause without event delays.
  struct QemuPause {
    int64_t stop_rt_ns = 0, resume_rt_ns = 0;
  };
  std::map<std::string, QemuPause> qemu_pause_;
  // Per VM: guest − host after its last successful sync (ClockTarget::
  // last_known_offset_ns: did its clock stand still while paused?).
  std::map<std::string, int64_t> last_offset_ns_;
  struct PrePause {
    snapshot::GuestTime guest;
    int64_t at_mono_ns = 0;
  };
  std::mutex pre_pause_mu_;
  std::map<std::string, PrePause> pre_pause_;
  std::condition_variable pre_pause_cv_;
  std::optional<DomainEvent> pre_pause_next_;  // the newest request; older ones are dropped
  bool pre_pause_stop_ = false;
  std::thread pre_pause_thread_;
  std::thread worker_;

  // Set once by start() before the local API serves; read-only after
  // (null / nullopt: no controller configured).
  std::optional<ControllerSettings> controller_;
  std::unique_ptr<Shipper> shipper_;
};

}  // namespace migclock::agent
