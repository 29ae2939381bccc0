#include "migclock/agent/tsc_pin.hpp"

#include <cmath>

namespace migclock::agent {

const char* to_string(TscPinAction a) {
  switch (a) {
    case TscPinAction::unchanged: return "unchanged";
    case TscPinAction::pin: return "pin";
    case TscPinAction::refuse: return "refuse";
  }
  return "?";
}

namespace {
std::string khz(uint64_t v) { return std::to_string(v) + " kHz"; }

TscPinDecision cannot(const TscPinInputs& in, const std::string& why) {
  TscPinDecision d;
  d.message = why;
  if (in.policy == TscPinPolicy::strict) {
    d.action = TscPinAction::refuse;
  } else {
    d.action = TscPinAction::unchanged;
    d.warning = true;
  }
  return d;
}
}  // namespace

TscPinDecision decide_tsc_pin(const TscPinInputs& in) {
  if (!in.source_khz || *in.source_khz == 0) {
    if (!in.guest_invtsc && in.pinned_hz) return {};  // already pinned by the operator: nothing to learn
    // The source agent tags every running domain's live XML with its TSC
    // rate; without the tag (no agent on the source, or it never saw the
    // domain) there is nothing to compare, and strict refuses to guess.
    return cannot(in, "source TSC frequency unknown (no migclock metadata in the domain XML: is migclock-agent "
                      "running on the source host?); destination host TSC is " + khz(in.host_khz));
  }
  const uint32_t src = *in.source_khz;
  const bool differs = src != in.host_khz;
  if (!differs && !in.guest_invtsc) return {};
  const double ppm = in.host_khz == 0 ? INFINITY
                                      : std::fabs(static_cast<double>(src) - in.host_khz) * 1e6 / in.host_khz;
  const bool honourable = ppm <= kTscTolerancePpm || in.host_scaling;
  if (!honourable) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", ppm);
    return cannot(in, "source TSC " + khz(src) + " differs from destination TSC " + khz(in.host_khz) + " by " + buf +
                          " ppm (> " + std::to_string(static_cast<int>(kTscTolerancePpm)) +
                          " ppm) and this host cannot scale the guest TSC");
  }
  TscPinDecision d;
  d.frequency_hz = static_cast<uint64_t>(src) * 1000;
  if (in.pinned_hz && *in.pinned_hz == d.frequency_hz) {
    d.message = "already pinned to the source TSC " + khz(src);
    return d;
  }
  const std::string why = "guest TSC must be pinned to the source's " + khz(src) + " (destination " +
                          khz(in.host_khz) + (in.guest_invtsc ? ", guest requires invtsc" : "") + ")";
  if (!in.emit_xml) {
    return cannot(in, why + " but the source domain does not carry <timer name='tsc' frequency='" +
                          std::to_string(d.frequency_hz) + "'/> and libvirt rejects a changed <timer> at migration "
                          "(tsc_pin_xml = false); define the guest with it on the source");
  }
  d.action = TscPinAction::pin;
  d.message = "pinning: " + why;
  return d;
}

}  // namespace migclock::agent
