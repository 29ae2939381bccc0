#include "migclock/agent/config.hpp"

#include <fstream>
#include <sstream>

#include "migclock/agent/paths.hpp"
#include "migclock/common/parse_int.hpp"

namespace migclock::agent {

using agent_sync::to_string;

const char* to_string(TscPinPolicy p) { return p == TscPinPolicy::strict ? "strict" : "lenient"; }

std::optional<TscPinPolicy> parse_tsc_pin_policy(const std::string& s) {
  if (s == "lenient") return TscPinPolicy::lenient;
  if (s == "strict") return TscPinPolicy::strict;
  return std::nullopt;
}

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw ConfigError(where + ": " + what); }

int64_t int_or_fail(const std::string& v, const std::string& where, int64_t lo, int64_t hi) {
  const auto n = parse_int(v);
  if (!n) fail(where, "'" + v + "' is not an integer");
  if (*n < lo || *n > hi) fail(where, v + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return *n;
}

bool parse_bool(const std::string& v, const std::string& where) {
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  fail(where, "'" + v + "' is not a boolean (true/false)");
}

SyncPolicy sync_policy_or_fail(const std::string& v, const std::string& where) {
  auto p = agent_sync::parse_sync_policy(v);
  if (!p) fail(where, "sync_policy must be step, measure or off, not '" + v + "'");
  return *p;
}

SyncTarget sync_target_or_fail(const std::string& v, const std::string& where) {
  auto t = agent_sync::parse_target_mode(v);
  if (!t) fail(where, "sync_target must be domain_clock or continuity, not '" + v + "'");
  return *t;
}

}  // namespace

void apply_setting(AgentConfig& cfg, const std::string& key, const std::string& value, const std::string& where) {
  const std::string w = where + ": " + key;
  if (key == "libvirt_uri") cfg.libvirt_uri = value;
  else if (key == "socket") cfg.socket_path = value;
  else if (key == "socket_group") cfg.socket_group = value;
  else if (key == "state_dir") cfg.state_dir = value;
  else if (key == "hostname") cfg.hostname = value;
  else if (key == "controller_url") cfg.controller_url = value;
  else if (key == "controller_token_file") cfg.controller_token_file = value;
  else if (key == "controller_ca_file") cfg.controller_ca_file = value;
  else if (key == "sync_policy") cfg.sync_policy = sync_policy_or_fail(value, w);
  else if (key == "sync_target") cfg.sync_target = sync_target_or_fail(value, w);
  else if (key == "continuity_wait_ms") cfg.continuity_wait_ms = static_cast<int>(int_or_fail(value, w, 0, 60'000));
  else if (key == "tsc_pin_policy") {
    auto p = parse_tsc_pin_policy(value);
    if (!p) fail(w, "must be lenient or strict, not '" + value + "'");
    cfg.tsc_pin_policy = *p;
  } else if (key == "tsc_pin_xml") cfg.tsc_pin_xml = parse_bool(value, w);
  else if (key == "qga_bias_from_companion") cfg.qga_bias_from_companion = parse_bool(value, w);
  else if (key == "rtc_catchup") cfg.rtc_catchup = value == "auto" ? std::nullopt : std::optional<bool>(parse_bool(value, w));
  else if (key == "backward_step") {
    if (value == "refuse") cfg.backward_step = agent_sync::BackwardStepPolicy::refuse;
    else if (value == "allow_small") cfg.backward_step = agent_sync::BackwardStepPolicy::allow_small;
    else if (value == "allow") cfg.backward_step = agent_sync::BackwardStepPolicy::allow;
    else fail(w, "must be refuse, allow_small or allow, not '" + value + "'");
  } else if (key == "max_backward_step_ns") cfg.max_backward_step_ns = int_or_fail(value, w, 0, 3'600'000'000'000);
  else if (key == "sync_agent_wait_s") cfg.sync_agent_wait_s = static_cast<int>(int_or_fail(value, w, 0, 3600));
  else if (key == "sync_settle_after_migration_ms")
    cfg.sync_settle_after_migration_ms = static_cast<int>(int_or_fail(value, w, 0, 10'000));
  else if (key == "residual_threshold_ns") cfg.residual_threshold_ns = int_or_fail(value, w, 0, 10'000'000'000);
  else if (key == "verify_uncertainty_limit_ns")
    cfg.verify_uncertainty_limit_ns = int_or_fail(value, w, 0, 10'000'000'000);
  else if (key == "keepalive_interval_s") cfg.keepalive_interval_s = static_cast<int>(int_or_fail(value, w, -1, 3600));
  else if (key == "keepalive_count") cfg.keepalive_count = static_cast<unsigned>(int_or_fail(value, w, 0, 100));
  else if (key == "reconnect_interval_s") cfg.reconnect_interval_s = static_cast<int>(int_or_fail(value, w, 1, 3600));
  else if (key == "outbox_retry_s") cfg.outbox_retry_s = static_cast<int>(int_or_fail(value, w, 1, 3600));
  else if (key == "log_level") {
    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool known = false;
    for (const char* l : levels) known = known || value == l;
    if (!known) fail(w, "unknown log level '" + value + "'");
    cfg.log_level = value;
  } else {
    fail(where, "unknown setting '" + key + "'");
  }
}

AgentConfig parse_config(const std::string& text, const std::string& origin) {
  AgentConfig cfg;
  std::istringstream in(text);
  std::string line;
  std::string vm;  // current [vm X] section, empty for global
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string where = origin + ":" + std::to_string(lineno);
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    line = trim(line);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') fail(where, "unterminated section header");
      const std::string inner = trim(line.substr(1, line.size() - 2));
      if (inner.rfind("vm ", 0) != 0 || trim(inner.substr(3)).empty())
        fail(where, "sections are [vm NAME-OR-UUID], not [" + inner + "]");
      vm = trim(inner.substr(3));
      cfg.vms[vm];
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) fail(where, "expected key = value");
    const std::string key = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    if (vm.empty()) {
      apply_setting(cfg, key, value, where);
    } else if (key == "sync_policy") {
      cfg.vms[vm].sync_policy = sync_policy_or_fail(value, where + ": " + key);
    } else if (key == "sync_target") {
      cfg.vms[vm].sync_target = sync_target_or_fail(value, where + ": " + key);
    } else if (key == "rtc_catchup") {
      cfg.vms[vm].rtc_catchup =
          value == "auto" ? std::nullopt : std::optional<bool>(parse_bool(value, where + ": " + key));
    } else if (key == "qga_bias_from_companion") {
      cfg.vms[vm].qga_bias_from_companion = parse_bool(value, where + ": " + key);
    } else {
      fail(where, "setting '" + key +
                      "' is not allowed in a [vm] section (sync_policy, sync_target, rtc_catchup, "
                      "qga_bias_from_companion)");
    }
  }
  return cfg;
}

AgentConfig load_config_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot open config file");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path);
}

SyncPolicy AgentConfig::sync_policy_for(const std::string& uuid, const std::string& name) const {
  for (const std::string* key : {&uuid, &name}) {
    auto it = vms.find(*key);
    if (!key->empty() && it != vms.end() && it->second.sync_policy) return *it->second.sync_policy;
  }
  return sync_policy;
}

bool AgentConfig::qga_bias_for(const std::string& uuid, const std::string& name) const {
  for (const std::string* key : {&uuid, &name}) {
    auto it = vms.find(*key);
    if (!key->empty() && it != vms.end() && it->second.qga_bias_from_companion) return *it->second.qga_bias_from_companion;
  }
  return qga_bias_from_companion;
}

SyncTarget AgentConfig::sync_target_for(const std::string& uuid, const std::string& name) const {
  for (const std::string* key : {&uuid, &name}) {
    auto it = vms.find(*key);
    if (!key->empty() && it != vms.end() && it->second.sync_target) return *it->second.sync_target;
  }
  return sync_target;
}

std::optional<bool> AgentConfig::rtc_catchup_for(const std::string& uuid, const std::string& name) const {
  for (const std::string* key : {&uuid, &name}) {
    auto it = vms.find(*key);
    if (!key->empty() && it != vms.end() && it->second.rtc_catchup) return *it->second.rtc_catchup;
  }
  return rtc_catchup;
}

std::string default_socket_path() { return socket_path_for(current_path_env()); }
std::string default_state_dir() { return state_dir_for(current_path_env()); }

std::string AgentConfig::effective_socket_path() const {
  return socket_path.empty() ? default_socket_path() : socket_path;
}
std::string AgentConfig::effective_state_dir() const { return state_dir.empty() ? default_state_dir() : state_dir; }

}  // namespace migclock::agent
