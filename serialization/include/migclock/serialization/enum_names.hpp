// Names of the snapshot's enums, shared by the JSON archive (enums travel as
// strings so people can read them) and by human summaries. Unknown names
// and out-of-range raw values are reported, never cast blindly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "migclock/snapshot/snapshot.hpp"

namespace migclock::serialization {

template <class E>
struct EnumTable;

template <>
struct EnumTable<snapshot::MasterclockState> {
  using E = snapshot::MasterclockState;
  static constexpr std::pair<E, const char*> entries[] = {
      {E::unknown, "unknown"}, {E::active, "active"}, {E::inactive, "inactive"}};
};

template <>
struct EnumTable<snapshot::MasterclockEvidence> {
  using E = snapshot::MasterclockEvidence;
  static constexpr std::pair<E, const char*> entries[] = {
      {E::none, "none"}, {E::clock_flags, "clock_flags"}, {E::tracefs, "tracefs"}, {E::derived, "derived"}};
};

template <>
struct EnumTable<snapshot::OffsetHonoured> {
  using E = snapshot::OffsetHonoured;
  static constexpr std::pair<E, const char*> entries[] = {{E::unknown, "unknown"}, {E::yes, "yes"}, {E::no, "no"}};
};

template <>
struct EnumTable<snapshot::TscKhzSource> {
  using E = snapshot::TscKhzSource;
  static constexpr std::pair<E, const char*> entries[] = {{E::unknown, "unknown"},
                                                          {E::kvm, "kvm"},
                                                          {E::libvirt_capabilities, "libvirt_capabilities"},
                                                          {E::cpuid, "cpuid"},
                                                          {E::calibration, "calibration"},
                                                          {E::unrecorded, "unrecorded"}};
};

template <>
struct EnumTable<snapshot::KvmPresence> {
  using E = snapshot::KvmPresence;
  static constexpr std::pair<E, const char*> entries[] = {
      {E::unrecorded, "unrecorded"}, {E::present, "present"}, {E::absent, "absent"}};
};

template <>
struct EnumTable<snapshot::CaptureSource> {
  using E = snapshot::CaptureSource;
  static constexpr std::pair<E, const char*> entries[] = {{E::owned_vmm, "owned_vmm"},
                                                          {E::libvirt_qemu, "libvirt_qemu"}};
};

// "active", or nullptr for a value outside the enum.
template <class E>
const char* enum_name(E value) {
  for (const auto& [v, name] : EnumTable<E>::entries)
    if (v == value) return name;
  return nullptr;
}

// enum_name, or "invalid(<n>)" for people.
template <class E>
std::string enum_label(E value) {
  if (const char* name = enum_name(value)) return name;
  return "invalid(" + std::to_string(static_cast<unsigned>(static_cast<std::underlying_type_t<E>>(value))) + ")";
}

template <class E>
bool enum_from_name(std::string_view name, E& out) {
  for (const auto& [v, n] : EnumTable<E>::entries)
    if (name == n) {
      out = v;
      return true;
    }
  return false;
}

template <class E>
bool enum_from_raw(std::underlying_type_t<E> raw, E& out) {
  for (const auto& entry : EnumTable<E>::entries)
    if (static_cast<std::underlying_type_t<E>>(entry.first) == raw) {
      out = entry.first;
      return true;
    }
  return false;
}

// "unknown|active|inactive", for error messages.
template <class E>
std::string enum_choices() {
  std::string out;
  for (const auto& entry : EnumTable<E>::entries) {
    if (!out.empty()) out += '|';
    out += entry.second;
  }
  return out;
}

}  // namespace migclock::serialization
