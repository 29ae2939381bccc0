// The agent's configuration: a `key = value` file with optional
// `[vm NAME-OR-UUID]` sections for per-VM policy, overridden by flags.
//
// Parsing is an edge: it throws ConfigError with the file, line and key so
// an operator sees exactly what to fix. Everything past parsing works with
// the typed AgentConfig.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "migclock/agent_sync/clock_sync.hpp"

namespace migclock::agent {

// What the agent does to a guest's wall clock after an event that leaves
// it behind (resume after migration, plain resume, restore): step
// (default), measure (never touch the guest), off — the sync core's enum.
using SyncPolicy = agent_sync::SyncPolicy;

// What `migrate begin` does when the destination cannot honour the
// source's TSC frequency.
enum class TscPinPolicy {
  lenient,  // leave the XML unchanged and record a warning (default)
  strict,   // fail the hook: libvirt aborts the migration before it moves
};

const char* to_string(TscPinPolicy);
std::optional<TscPinPolicy> parse_tsc_pin_policy(const std::string&);

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Where a sync puts the guest's clock (agent_sync/clock_target.hpp):
// domain_clock (the domain's <clock>, default) or continuity (the guest's
// own offset before the pause).
using SyncTarget = agent_sync::TargetMode;

struct VmOverrides {
  std::optional<SyncPolicy> sync_policy;
  std::optional<SyncTarget> sync_target;
  std::optional<bool> rtc_catchup;
  std::optional<bool> qga_bias_from_companion;
};

struct AgentConfig {
  std::string libvirt_uri = "qemu:///system";
  std::string socket_path;  // empty: default_socket_path()
  std::string socket_group;  // peers in this group may use the API (root always may)
  std::string state_dir;     // empty: default_state_dir()
  std::string hostname;      // empty: gethostname()
  std::string controller_url;         // empty: no controller; snapshots stay on disk
  std::string controller_token_file;  // bearer token, scope `agent`
  std::string controller_ca_file;     // extra CA for the controller's certificate
  SyncPolicy sync_policy = SyncPolicy::step;
  SyncTarget sync_target = SyncTarget::domain_clock;
  // continuity after RESUMED_MIGRATED: how long the destination waits for
  // the controller to hold the source's snapshot before falling back to the
  // domain clock.
  int continuity_wait_ms = 3000;
  // Learn qemu-ga's measurement bias from guests that also run the companion,
  // and remove it from qemu-ga syncs (agent/qga_bias.hpp). Off by default:
  // judged independently it has not yet shown a gain (docs/benchmarks.md).
  // Learning follows the global setting; a [vm] section only decides whether
  // that VM's qemu-ga syncs use what was learned.
  bool qga_bias_from_companion = false;
  TscPinPolicy tsc_pin_policy = TscPinPolicy::lenient;
  bool tsc_pin_xml = false;  // emit the pinned XML (see tsc_pin.hpp: libvirt's ABI check)
  // rtc-reset-reinjection after a step: unset ("auto") = when the domain's
  // <clock> has <timer name='rtc' tickpolicy='catchup'/>.
  std::optional<bool> rtc_catchup;
  // A guest found ahead is only stepped back as far as this allows.
  agent_sync::BackwardStepPolicy backward_step = agent_sync::BackwardStepPolicy::allow_small;
  int64_t max_backward_step_ns = 5'000'000;
  int sync_agent_wait_s = 60;             // wait this long for the guest agent
  // After RESUMED_MIGRATED: corrections wait this long after the first step
  // (agent_sync::SyncOptions::settle_before_corrections).
  int sync_settle_after_migration_ms = 300;
  int64_t residual_threshold_ns = 50'000;  // correct again above this |residual|
  // A sync is `verified` only when its final measurement's uncertainty (the
  // asymmetry bound) is within this too; else `degraded` (sync_verdict.hpp).
  int64_t verify_uncertainty_limit_ns = 100'000;
  int keepalive_interval_s = 5;
  unsigned keepalive_count = 3;
  int reconnect_interval_s = 2;
  int outbox_retry_s = 10;
  std::string log_level = "info";
  std::map<std::string, VmOverrides> vms;  // by name or UUID

  // The policy for one VM: a [vm UUID] section wins over [vm NAME], both
  // over the global setting.
  SyncPolicy sync_policy_for(const std::string& uuid, const std::string& name) const;
  SyncTarget sync_target_for(const std::string& uuid, const std::string& name) const;
  // The VM's explicit setting, else the global one; nullopt: auto.
  std::optional<bool> rtc_catchup_for(const std::string& uuid, const std::string& name) const;
  bool qga_bias_for(const std::string& uuid, const std::string& name) const;

  std::string effective_socket_path() const;
  std::string effective_state_dir() const;
};

// Root: /run/migclock/agent.sock. Anyone else (a session libvirt daemon's
// user): $XDG_RUNTIME_DIR/migclock/agent.sock, else
// $HOME/.cache/migclock/agent.sock — the same places the hook looks.
std::string default_socket_path();
// Root: /var/lib/migclock. Others: $XDG_STATE_HOME/migclock or
// $HOME/.local/state/migclock.
std::string default_state_dir();

// Parses config text; `origin` names the file in errors.
AgentConfig parse_config(const std::string& text, const std::string& origin);
AgentConfig load_config_file(const std::string& path);

// Flags as given on the command line, applied over the file on every
// (re)load so SIGHUP keeps them.
struct FlagOverrides {
  std::optional<std::string> config_path;
  std::map<std::string, std::string> values;  // config key → value
};

// Applies `key = value` to cfg (the same keys as the file); throws
// ConfigError for unknown keys or bad values.
void apply_setting(AgentConfig& cfg, const std::string& key, const std::string& value,
                   const std::string& where);

}  // namespace migclock::agent
