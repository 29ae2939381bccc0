// Controller → agent commands (docs/protocol.md §4): the long poll's
// answer and the agent's result.
#pragma once

#include <string>
#include <vector>

#include "migclock/protocol/wire.hpp"

namespace migclock::protocol {

// The one command kind so far: sync the VM's guest clock now.
inline constexpr const char* kCommandSync = "sync";

// One queued command, as GET /api/v1/hosts/{hostname}/commands delivers it
// (the answer is a JSON array of these).
struct CommandDelivery {
  std::string id, kind, vm_uuid, vm_name;
};
using CommandBatch = std::vector<CommandDelivery>;

// POST /api/v1/hosts/{hostname}/commands/{id}/result. `results_json`: ""
// or an object (command_results_json() for a sync).
struct CommandResult {
  bool ok = false;
  std::string message;
  std::string results_json;
};

void write(net::JsonWriter&, const CommandDelivery&);
void write(net::JsonWriter&, const CommandBatch&);
void write(net::JsonWriter&, const CommandResult&);
std::optional<net::Problem> read(const rapidjson::Value&, CommandDelivery&);
std::optional<net::Problem> read(const rapidjson::Value&, CommandBatch&);
std::optional<net::Problem> read(const rapidjson::Value&, CommandResult&);

}  // namespace migclock::protocol
