// One HTTP request to the local agent over its unix socket, bounded by a
// timeout (socket send/receive timeouts; a unix connect either succeeds or
// fails at once). The hook has no other way to wait: libvirt waits for it.
#pragma once

#include <string>

#include "migclock/common/result.hpp"

namespace migclock::hook {

struct AgentReply {
  int status = 0;
  std::string body;
};

Result<AgentReply> post_to_agent(const std::string& socket, const std::string& target, const std::string& json_body,
                                 int timeout_ms);

}  // namespace migclock::hook
