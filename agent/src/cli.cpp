#include "migclock/agent/cli.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <utility>

namespace migclock::agent {

namespace {
// flag → config key
const std::map<std::string, std::string>& flag_keys() {
  static const std::map<std::string, std::string> m = {
      {"--uri", "libvirt_uri"},           {"--socket", "socket"},
      {"--socket-group", "socket_group"}, {"--state-dir", "state_dir"},
      {"--hostname", "hostname"},         {"--controller", "controller_url"},
      {"--token-file", "controller_token_file"},
      {"--sync-policy", "sync_policy"},   {"--tsc-pin-policy", "tsc_pin_policy"},
      {"--sync-target", "sync_target"},
      {"--tsc-pin-xml", "tsc_pin_xml"},
      {"--sync-agent-wait", "sync_agent_wait_s"},
      {"--residual-threshold-ns", "residual_threshold_ns"},
      {"--verify-uncertainty-limit-ns", "verify_uncertainty_limit_ns"},
      {"--keepalive-interval", "keepalive_interval_s"},
      {"--keepalive-count", "keepalive_count"},
      {"--reconnect-interval", "reconnect_interval_s"},
      {"--backward-step", "backward_step"},
      {"--max-backward-step-ns", "max_backward_step_ns"},
      {"--log-level", "log_level"},       {"--rtc-catchup", "rtc_catchup"},
  };
  return m;
}
}  // namespace

std::string cli_help() {
  return R"(usage: migclock-agent [--config FILE] [flags]

Per-host daemon: follows libvirt lifecycle events, captures clock snapshots on
the source of a migration, repairs the guest's wall clock through its guest
agent after resume/migration/restore, answers the libvirt hook and owned VMMs
on a local unix socket (/healthz /readyz /metrics /api/v1/...).

  --config FILE              key = value config file ([vm NAME-OR-UUID] sections
                             for per-VM sync_policy / sync_target / rtc_catchup); re-read on SIGHUP
  --uri URI                  libvirt URI (default qemu:///system)
  --socket PATH              local API socket (root: /run/migclock/agent.sock,
                             others: $HOME/migclock/agent.sock)
  --socket-group GROUP       group whose members may use the socket (root always may)
  --state-dir DIR            snapshots and outbox (root: /var/lib/migclock)
  --hostname NAME            this host's name for the controller (default: gethostname)
  --controller URL           controller base URL (https://...); none: snapshots stay on disk
  --token-file FILE          bearer token for the controller
  --sync-policy P            step (default) | measure | off
  --sync-target T            domain_clock (default: the domain's <clock>) | continuity
                             (the guest's own offset before the pause)
  --tsc-pin-policy P         lenient (default) | strict   (migrate begin hook)
  --tsc-pin-xml BOOL         print the pinned XML in migrate begin (default false:
                             libvirt 9.0 rejects a changed <timer> at migration)
  --rtc-catchup BOOL|auto    rtc-reset-reinjection after a step (default auto: when
                             the domain has <timer name='rtc' tickpolicy='catchup'/>)
  --backward-step P          refuse | allow_small (default: up to --max-backward-step-ns,
                             default 5000000) | allow — a guest found ahead of the host
  --sync-agent-wait S        wait this long for a guest agent (default 60)
  --residual-threshold-ns N  correct again above this |residual| (default 50000)
  --verify-uncertainty-limit-ns N  a sync is verified only when its final measurement's
                             uncertainty (asymmetry bound) is within this too; else
                             degraded (default 100000)
  --keepalive-interval S     libvirt keepalive interval, -1 disables (default 5)
  --keepalive-count N        missed keepalives before the connection is dead (default 3)
  --reconnect-interval S     between reconnection attempts (default 2)
  --log-level L              trace|debug|info|warn|error (default info)
  --check-config             print the effective configuration, check the files it
                             names; exit 0, or 2 with each problem on stderr
  --version, --help

Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the config file.
systemd: Type=notify (READY=1, WATCHDOG=1, RELOADING=1, STOPPING=1).
)";
}

CliOptions parse_cli(const std::vector<std::string>& args) {
  CliOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    bool has_value = false;
    if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    if (a == "--help" || a == "-h") { o.help = true; continue; }
    if (a == "--version") { o.version = true; continue; }
    if (a == "--check-config") { o.check_config = true; continue; }
    auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= args.size()) throw ConfigError(a + ": needs a value");
      return args[++i];
    };
    if (a == "--config") { o.flags.config_path = next(); continue; }
    const auto it = flag_keys().find(a);
    if (it == flag_keys().end()) throw ConfigError("unknown flag '" + a + "' (see --help)");
    o.flags.values[it->second] = next();
  }
  return o;
}

AgentConfig effective_config(const FlagOverrides& flags) {
  AgentConfig cfg = flags.config_path ? load_config_file(*flags.config_path) : AgentConfig{};
  for (const auto& [k, v] : flags.values) apply_setting(cfg, k, v, "command line");
  return cfg;
}

std::string describe_config(const AgentConfig& c) {
  std::ostringstream o;
  o << "libvirt_uri = " << c.libvirt_uri << "\n"
    << "socket = " << c.effective_socket_path() << "\n"
    << "socket_group = " << c.socket_group << "\n"
    << "state_dir = " << c.effective_state_dir() << "\n"
    << "controller_url = " << c.controller_url << "\n"
    << "sync_policy = " << to_string(c.sync_policy) << "\n"
    << "sync_target = " << agent_sync::to_string(c.sync_target) << "\n"
    << "continuity_wait_ms = " << c.continuity_wait_ms << "\n"
    << "qga_bias_from_companion = " << (c.qga_bias_from_companion ? "true" : "false") << "\n"
    << "tsc_pin_policy = " << to_string(c.tsc_pin_policy) << "\n"
    << "tsc_pin_xml = " << (c.tsc_pin_xml ? "true" : "false") << "\n"
    << "rtc_catchup = " << (c.rtc_catchup ? (*c.rtc_catchup ? "true" : "false") : "auto") << "\n"
    << "backward_step = " << agent_sync::to_string(c.backward_step) << "\n"
    << "max_backward_step_ns = " << c.max_backward_step_ns << "\n"
    << "sync_agent_wait_s = " << c.sync_agent_wait_s << "\n"
    << "sync_settle_after_migration_ms = " << c.sync_settle_after_migration_ms << "\n"
    << "residual_threshold_ns = " << c.residual_threshold_ns << "\n"
    << "verify_uncertainty_limit_ns = " << c.verify_uncertainty_limit_ns << "\n"
    << "keepalive_interval_s = " << c.keepalive_interval_s << "\n"
    << "keepalive_count = " << c.keepalive_count << "\n"
    << "reconnect_interval_s = " << c.reconnect_interval_s << "\n"
    << "log_level = " << c.log_level << "\n";
  for (const auto& [vm, ov] : c.vms) {
    o << "[vm " << vm << "]\n";
    if (ov.sync_policy) o << "sync_policy = " << to_string(*ov.sync_policy) << "\n";
    if (ov.sync_target) o << "sync_target = " << agent_sync::to_string(*ov.sync_target) << "\n";
    if (ov.rtc_catchup) o << "rtc_catchup = " << (*ov.rtc_catchup ? "true" : "false") << "\n";
  }
  return o.str();
}

std::vector<std::string> config_problems(const AgentConfig& c) {
  std::vector<std::string> out;
  const std::string& url = c.controller_url;
  if (!url.empty() && url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)
    out.push_back("controller_url = " + url + ": not an https:// (or loopback http://) URL");
  if (!url.empty() && c.controller_token_file.empty())
    out.push_back("controller_url is set but controller_token_file is not: the controller refuses requests without a token");
  for (const auto& [key, path] : {std::pair<const char*, const std::string&>{"controller_token_file", c.controller_token_file},
                                  {"controller_ca_file", c.controller_ca_file}}) {
    if (path.empty() || ::access(path.c_str(), R_OK) == 0) continue;
    const int e = errno;  // before any allocation below
    out.push_back(std::string(key) + " = " + path + ": " + std::strerror(e));
  }
  return out;
}

}  // namespace migclock::agent
