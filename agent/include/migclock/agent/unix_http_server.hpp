// HTTP/1.1 over a unix socket (Boost.Beast) for the local API. Each
// connection's peer is identified by SO_PEERCRED before anything is read;
// refused peers get 403 and the connection closes. The socket file is
// created with mode 0660 so the filesystem agrees with the check.
#pragma once

#include <atomic>
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
  // starts serving on a background thread.
  Status start(const std::string& path, const std::string& group);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migclock::agent
