// The agent's local API, transport-free: a request (method, path, query,
// body, the peer's credentials) in, a response (status, type, body) out.
// The HTTP server (migclock_net, over a unix socket) only moves bytes; the
// routes, the typed commands and the one error → status mapping live here.
//
//   GET  /healthz                          200 "ok" while the process serves
//   GET  /readyz                           200 when libvirt is connected, else 503
//   GET  /metrics                          Prometheus text
//   GET  /api/v1/host                      this host's facts (TSC kHz, …)
//   GET  /api/v1/vms                       inventory
//   POST /api/v1/vms/{id}/capture          capture now (kind on-request)
//   POST /api/v1/vms/{id}/sync             sync now with the VM's policy
// Bodies are protocol/local_messages.hpp's.
//   POST /api/v1/hook/events               a libvirt hook call (HookEvent JSON)
//   POST /api/v1/hook/migrate-begin        {"name","xml"} → the TSC pin decision
//   POST /api/v1/vmm/snapshots             an owned VMM's snapshot (JSON)
//   GET  /api/v1/vmm/restore-inputs?vm=ID  snapshot + realtime offset
#pragma once

#include <sys/types.h>

#include <string>

#include "migclock/agent/agent.hpp"
#include "migclock/net/router.hpp"

namespace migclock::agent {

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct ApiRequest {
  std::string method;
  std::string target;  // path + optional ?query
  std::string body;
  PeerCred peer;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Who may talk to the agent: root, or a member (primary or supplementary)
// of `group` when one is configured, or the agent's own user.
bool peer_allowed(const PeerCred& peer, const std::string& group, uid_t self_uid);

class LocalApi {
 public:
  explicit LocalApi(Agent& agent);
  // Routes on net::Router (404/405 like the controller's); the path and
  // query are percent-decoded.
  ApiResponse handle(const ApiRequest& req);

 private:
  // One handler per route above.
  net::Response healthz(const net::Request&, const net::Params&);
  net::Response readyz(const net::Request&, const net::Params&);
  net::Response metrics(const net::Request&, const net::Params&);
  net::Response host(const net::Request&, const net::Params&);
  net::Response vms(const net::Request&, const net::Params&);
  net::Response capture(const net::Request&, const net::Params&);
  net::Response sync(const net::Request&, const net::Params&);
  net::Response hook_event(const net::Request&, const net::Params&);
  net::Response migrate_begin(const net::Request&, const net::Params&);
  net::Response vmm_snapshot(const net::Request&, const net::Params&);
  net::Response vmm_restore_inputs(const net::Request&, const net::Params&);

  Agent& agent_;
  net::Router router_;
};

// {"error": code, "message": …} with the status for errc (the one mapping).
ApiResponse error_response(const Error& e);

}  // namespace migclock::agent
