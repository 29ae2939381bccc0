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
  bool check_config = false;  // parse, print the effective config, report problems, exit
};

// Throws ConfigError on an unknown flag or a missing value.
CliOptions parse_cli(const std::vector<std::string>& args);
std::string cli_help();

// File (if any) + flags → the effective config. Throws ConfigError.
AgentConfig effective_config(const FlagOverrides& flags);
std::string describe_config(const AgentConfig& c);
// What --check-config reports beyond parsing, one line each (empty: none):
// files the config names that this process cannot read, a controller URL
// that is not http(s) or has no token. An operator finds these before the
// daemon starts instead of in its log.
std::vector<std::string> config_problems(const AgentConfig& c);

}  // namespace migclock::agent
