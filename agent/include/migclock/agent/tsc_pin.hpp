// The `migrate begin` decision: pin the destination's TSC frequency to the
// source's, leave the XML alone, or refuse the migration. Pure logic over
// facts gathered elsewhere, so every branch is testable. See
// TscPinInputs::emit_xml for what libvirt does with a pinned XML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "migclock/agent/config.hpp"

namespace migclock::agent {

// KVM runs a guest at a requested TSC rate without scaling when it is
// within this tolerance of the host's (the kernel's tsc_tolerance_ppm).
inline constexpr double kTscTolerancePpm = 250.0;

struct TscPinInputs {
  std::optional<uint32_t> source_khz;  // the source host's TSC kHz, if known
  std::string source_evidence;         // where source_khz came from
  uint32_t host_khz = 0;               // this (destination) host
  bool host_scaling = false;           // this host can scale the guest TSC
  bool guest_invtsc = false;           // the domain requires invtsc
  std::optional<uint64_t> pinned_hz;   // <timer name='tsc' frequency> already in the XML
  TscPinPolicy policy = TscPinPolicy::lenient;
  // Whether to emit the pinned XML at all. libvirt 9.0 checks the filtered
  // XML for ABI stability against the source's definition and rejects any
  // added or changed <timer> ("Target domain timers do not match source"),
  // so a pin the source did not already carry aborts the migration. Off by
  // default: a pin that is needed but would be rejected is then handled
  // like one that cannot be honoured (lenient: warn; strict: refuse).
  bool emit_xml = false;
};

enum class TscPinAction {
  unchanged,  // print nothing: libvirt keeps the XML
  pin,        // print the XML with the timer pinned to frequency_hz
  refuse,     // exit non-zero: libvirt aborts the migration
};

const char* to_string(TscPinAction);

struct TscPinDecision {
  TscPinAction action = TscPinAction::unchanged;
  uint64_t frequency_hz = 0;  // for pin
  bool warning = false;       // a lenient "cannot honour" or "unknown source"
  std::string message;        // names both frequencies where relevant
};

TscPinDecision decide_tsc_pin(const TscPinInputs&);

}  // namespace migclock::agent
