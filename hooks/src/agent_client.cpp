#include "agent_client.hpp"

#include "migclock/net/client.hpp"

namespace migclock::hook {

Result<AgentReply> post_to_agent(const std::string& socket, const std::string& target, const std::string& json_body,
                                 int timeout_ms) {
  net::ClientOptions o("unix:" + socket);
  o.timeout = std::chrono::milliseconds(timeout_ms);
  net::Client client(o);
  auto r = client.post(target, json_body);
  if (!r) return r.error();
  return AgentReply{static_cast<int>(r->status), r->body};
}

}  // namespace migclock::hook
