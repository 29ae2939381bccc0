#include "migclock/agent/paths.hpp"

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace migclock::agent {

namespace {
std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

PathEnv current_path_env() {
  return PathEnv{::getuid(), env_or_empty("XDG_RUNTIME_DIR"), env_or_empty("HOME"),
                 env_or_empty("XDG_STATE_HOME")};
}

std::string socket_path_for(const PathEnv& env) {
  if (env.uid == 0) return kSystemSocket;
  if (!env.home.empty()) return env.home + "/migclock/agent.sock";
  return "/tmp/migclock-" + std::to_string(env.uid) + "/agent.sock";
}

std::string hook_socket_for_home(const std::string& home) {
  if (!home.empty()) {
    const std::string per_daemon = home + "/migclock/agent.sock";
    struct stat st {};
    if (::stat(per_daemon.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return per_daemon;
  }
  return kSystemSocket;
}

std::string state_dir_for(const PathEnv& env) {
  if (env.uid == 0) return "/var/lib/migclock";
  if (!env.xdg_state_home.empty()) return env.xdg_state_home + "/migclock";
  return (env.home.empty() ? std::string("/tmp") : env.home) + "/.local/state/migclock";
}

}  // namespace migclock::agent
