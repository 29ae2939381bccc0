// Where the hook finds its agent and what it does when it cannot.
//
// libvirt passes the hook no flags and almost no environment (LC_ALL, PATH,
// HOME, USER, LOGNAME, TMPDIR), so settings come from files: the calling
// daemon's $HOME/migclock/hook.conf, then /etc/migclock/hook.conf
// (`socket = PATH`, `policy = lenient|strict`, `timeout_ms = N`).
// MIGCLOCK_AGENT_SOCKET / MIGCLOCK_HOOK_POLICY / MIGCLOCK_HOOK_CONFIG
// override them for tests and manual runs.
#pragma once

#include <string>

namespace migclock::hook {

struct HookSettings {
  std::string socket;         // the agent's unix socket
  std::string socket_source;  // why this socket (for messages)
  bool strict = false;        // migrate begin: fail when the agent cannot answer
  int timeout_ms = 2000;      // per request, connect to reply
  std::string error;          // a settings file that did not parse
};

HookSettings resolve_settings();

}  // namespace migclock::hook
