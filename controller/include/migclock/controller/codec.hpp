// Records ↔ JSON: one form for the API and the journal.
#pragma once

#include <string>

#include "migclock/common/result.hpp"
#include "migclock/controller/model.hpp"
#include "migclock/net/json.hpp"

namespace migclock::controller {

void write(net::JsonWriter& w, const ClockOffset&);
void write(net::JsonWriter& w, const Host&);
void write(net::JsonWriter& w, const Vm&);
void write(net::JsonWriter& w, const Migration&);
void write(net::JsonWriter& w, const Command&);

template <class T>
std::string to_json(const T& v) {
  net::JsonWriter w;
  write(w, v);
  return w.str();
}

// Journal documents back into records (startup). Errors name the field.
Result<Host> host_from_json(const std::string&);
Result<Vm> vm_from_json(const std::string&);
Result<Migration> migration_from_json(const std::string&);
Result<Command> command_from_json(const std::string&);
Result<ClockOffset> offset_from_json(const std::string&);
Result<Token> token_from_json(const std::string& hash, const std::string&);
std::string token_to_json(const Token&);

}  // namespace migclock::controller
