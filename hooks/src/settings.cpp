#include "settings.hpp"

#include <cstdlib>
#include <fstream>
#include <vector>

#include "migclock/agent/paths.hpp"
#include "migclock/common/parse_int.hpp"

namespace migclock::hook {

namespace {

std::string env(const char* n) {
  const char* v = std::getenv(n);
  return v ? v : "";
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

void note(HookSettings& s, const std::string& what) { s.error += (s.error.empty() ? "" : "; ") + what; }

// Applies one file. A bad line is reported and skipped, never the rest:
// a typo in $HOME/migclock/hook.conf must not drop a strict policy that
// /etc/migclock/hook.conf sets.
void apply_file(const std::string& path, HookSettings& s, bool& have_socket, bool& have_policy) {
  std::ifstream in(path);
  if (!in) return;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (auto h = line.find('#'); h != std::string::npos) line.erase(h);
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const std::string k = eq == std::string::npos ? line : trim(line.substr(0, eq));
    const std::string v = eq == std::string::npos ? "" : trim(line.substr(eq + 1));
    if (k == "socket" && !have_socket && !v.empty()) {
      s.socket = v;
      s.socket_source = path;
      have_socket = true;
    } else if (k == "policy" && (v == "strict" || v == "lenient")) {
      if (!have_policy) s.strict = v == "strict";
      have_policy = true;
    } else if (k == "timeout_ms") {
      // Range-checked without std::stoi (99999999999 threw out_of_range and
      // aborted the hook on every call): 1..kMaxTimeoutMs, else the default.
      if (const auto ms = parse_int(v, 1, kMaxTimeoutMs)) s.timeout_ms = static_cast<int>(*ms);
      else
        note(s, path + ":" + std::to_string(n) + ": timeout_ms must be 1.." + std::to_string(kMaxTimeoutMs) + ", not '" +
                    v.substr(0, 32) + "' (using " + std::to_string(s.timeout_ms) + ")");
    } else {
      note(s, path + ":" + std::to_string(n) + ": bad setting '" + line.substr(0, 128) + "'");
    }
  }
}

}  // namespace

HookSettings resolve_settings() {
  HookSettings s;
  bool have_socket = false, have_policy = false;
  if (const std::string e = env("MIGCLOCK_AGENT_SOCKET"); !e.empty()) {
    s.socket = e;
    s.socket_source = "MIGCLOCK_AGENT_SOCKET";
    have_socket = true;
  }
  if (const std::string p = env("MIGCLOCK_HOOK_POLICY"); p == "strict" || p == "lenient") {
    s.strict = p == "strict";
    have_policy = true;
  }
  const std::string home = env("HOME");
  std::vector<std::string> files;
  if (const std::string f = env("MIGCLOCK_HOOK_CONFIG"); !f.empty()) files.push_back(f);
  if (!home.empty()) files.push_back(home + "/migclock/hook.conf");
  files.push_back("/etc/migclock/hook.conf");
  for (const auto& f : files) apply_file(f, s, have_socket, have_policy);
  if (!have_socket) {
    s.socket = agent::hook_socket_for_home(home);
    s.socket_source = s.socket == agent::kSystemSocket ? "system default" : "$HOME of the calling daemon";
  }
  return s;
}

}  // namespace migclock::hook
