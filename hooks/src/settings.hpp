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

// timeout_ms above this is refused: libvirt waits for the hook with no
// timeout of its own, holding the domain.
inline constexpr int kMaxTimeoutMs = 10'000;
// migrate begin waits for the agent at most this long, whatever timeout_ms
// says: the whole hook stays within 3 s (with kStdinDeadlineMs).
inline constexpr int kMigrateBeginMaxMs = 2'500;

struct HookSettings {
  std::string socket;         // the agent's unix socket
  std::string socket_source;  // why this socket (for messages)
  bool strict = false;        // migrate begin: fail when the agent cannot answer
  int timeout_ms = 2000;      // per request, connect to reply
  std::string error;          // bad lines of the settings files ("; "-joined), reported and skipped
};

HookSettings resolve_settings();

}  // namespace migclock::hook
