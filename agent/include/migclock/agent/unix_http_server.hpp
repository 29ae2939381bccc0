// The local API's HTTP/1.1 over a unix socket: migclock_net's server
// (Boost.Beast; SO_PEERCRED read before the first byte) with the agent's
// peer gate in front (refused peers get 403) and a small worker pool behind
// (API calls may block; net's io threads must not). The socket file is
// mode 0660, group `socket_group`, so the filesystem agrees with the gate.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "migclock/agent/local_api.hpp"
#include "migclock/common/result.hpp"

namespace migclock::agent {

class UnixHttpServer {
 public:
  using Handler = std::function<ApiResponse(const ApiRequest&)>;
  using Gate = std::function<bool(const PeerCred&)>;  // false: refuse

  UnixHttpServer(Handler handler, Gate gate, std::function<void()> on_refused);
  ~UnixHttpServer();

  // Binds (replacing a stale socket file), chowns to `group` if given, and
  // starts serving on background threads.
  Status start(const std::string& path, const std::string& group);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migclock::agent
