// What the hook does for one call: post the event to the agent and, for
// `migrate begin`, act as the XML filter. Returns the exit status; `out` is
// what goes to stdout (empty = libvirt keeps its XML), `err` to stderr
// (libvirt shows it in the failed operation's error).
#pragma once

#include <string>

#include "hook_call.hpp"
#include "settings.hpp"

namespace migclock::hook {

int run_hook(const HookCall& call, const HookSettings& settings, std::string& out, std::string& err);

}  // namespace migclock::hook
