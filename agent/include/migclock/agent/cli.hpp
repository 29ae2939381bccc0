// migclock-agent's command line: flags map onto config keys so a flag and
// a config line mean the same thing, and SIGHUP re-applies flags over the
// re-read file.
#pragma once

#include <string>
#include <vector>

#include "migclock/agent/config.hpp"

namespace migclock::agent {

struct CliOptions {
  FlagOverrides flags;
  bool help = false;
  bool version = false;
  bool check_config = false;  // parse, print the effective config, exit
};

// Throws ConfigError on an unknown flag or a missing value.
CliOptions parse_cli(const std::vector<std::string>& args);
std::string cli_help();

// File (if any) + flags → the effective config. Throws ConfigError.
AgentConfig effective_config(const FlagOverrides& flags);
std::string describe_config(const AgentConfig& c);

}  // namespace migclock::agent
