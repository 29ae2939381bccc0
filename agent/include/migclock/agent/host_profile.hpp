// What the agent knows about its own host: identity, TSC rate, scaling,
// clocksource, whether KVM honours TSC offsets. Probed once at start and on
// SIGHUP, never guessed: a host without /dev/kvm is a fact (kvm absent, and
// why), not a failure, and the TSC rate then comes from the next source
// that states it, each named (tsc_khz_source).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "migclock/snapshot/snapshot.hpp"

namespace migclock::agent {

struct HostProfile {
  snapshot::HostFacts facts;  // facts.kvm, facts.tsc_khz_source say what is known
  bool masterclock_possible = false;
  std::string kvm_reason;      // why facts.kvm is absent ("open /dev/kvm: No such file or directory")
  std::string tsc_khz_detail;  // how the rate was learnt, or why it is unknown
  bool kvm_present() const { return facts.kvm == snapshot::KvmPresence::present; }
};

// virConnectGetCapabilities() XML, asked only when KVM gave no TSC rate;
// nullopt when libvirt cannot be reached.
using CapabilitiesFetcher = std::function<std::optional<std::string>()>;

// `hostname_override`: the configured hostname, if any.
// TSC rate, first that states one: KVM_GET_TSC_KHZ; libvirt capabilities'
// <counter name='tsc'>; CPUID 0x15/0x16; calibration against
// CLOCK_MONOTONIC_RAW.
HostProfile probe_host_profile(const std::string& hostname_override, const CapabilitiesFetcher& capabilities = {});

}  // namespace migclock::agent
