// One HTTP request to the local agent over its unix socket (migclock_net's
// client), bounded by a deadline: libvirt waits for the hook, with no
// timeout of its own.
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
