// Where the agent's socket and state live, as a pure function of identity
// and environment so the daemon and the hook agree on it.
//
// Every libvirt daemon on a machine, session daemons included, runs the same
// hook (/etc/libvirt/hooks/qemu: one compiled-in hook dir), and passes it
// only LC_ALL, PATH, HOME, USER, LOGNAME, TMPDIR (docs/libvirt-integration.md).
// HOME is the one thing that tells two session daemons apart, so the agent
// of a session daemon listens at $HOME/migclock/agent.sock of that daemon's
// HOME, and the hook looks there first.
#pragma once

#include <string>
#include <sys/types.h>

namespace migclock::agent {

struct PathEnv {
  uid_t uid = 0;
  std::string xdg_runtime_dir;  // may be empty
  std::string home;             // may be empty
  std::string xdg_state_home;   // may be empty
};

// The calling process's identity and environment.
PathEnv current_path_env();

inline constexpr const char* kSystemSocket = "/run/migclock/agent.sock";

// root → /run/migclock/agent.sock; otherwise $HOME/migclock/agent.sock
// (or /tmp/migclock-<uid>/agent.sock without a HOME).
std::string socket_path_for(const PathEnv&);
// The socket a hook run by a daemon with HOME=`home` should use: the
// per-daemon $HOME/migclock/agent.sock when it exists, else the system one.
std::string hook_socket_for_home(const std::string& home);
std::string state_dir_for(const PathEnv&);

}  // namespace migclock::agent
