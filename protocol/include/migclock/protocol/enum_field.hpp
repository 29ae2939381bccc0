// Enums on the wire by the names of serialization/enum_names.hpp: one
// table for snapshots, the protocol and people.
#pragma once

#include <string>

#include "migclock/net/json.hpp"
#include "migclock/serialization/enum_names.hpp"

namespace migclock::protocol {

// "unknown,yes,no": FieldReader::one_of's list.
template <class E>
std::string enum_list() {
  std::string out;
  for (const auto& entry : serialization::EnumTable<E>::entries) {
    if (!out.empty()) out += ',';
    out += entry.second;
  }
  return out;
}

// Reads a field holding one of E's names into `out` (unchanged if absent).
template <class E>
void read_enum(net::FieldReader& r, const char* name, E& out, bool required = true) {
  std::string s;
  r.one_of(name, s, enum_list<E>().c_str(), required);
  if (r.ok() && !s.empty()) serialization::enum_from_name(s, out);
}

}  // namespace migclock::protocol
