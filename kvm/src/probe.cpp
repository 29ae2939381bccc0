#include "migclock/kvm/probe.hpp"

#include <x86intrin.h>

#include "migclock/kvm/clock_guest.hpp"
#include "migclock/kvm/host_facts.hpp"

namespace migclock::kvm {
namespace {

// A shift no one could mistake for noise: ~7 minutes at 2.6 GHz.
constexpr uint64_t kProbeOffsetDelta = 1ull << 40;

bool has(const System& sys, Capability cap) { return sys.check_extension(cap).value_or(0) > 0; }

Status probe_offset(const ClockGuest& guest, OffsetProbe& out) {
  const Vcpu& vcpu = guest.vcpus()[0];
  auto original = vcpu.get_tsc_offset();
  if (!original) return original.error();
  out.attempted = true;
  out.original = *original;
  out.written = *original + kProbeOffsetDelta;
  MIGCLOCK_TRY(vcpu.set_tsc_offset(out.written));
  auto read_back = vcpu.get_tsc_offset();
  if (!read_back) return read_back.error();
  out.read_back = *read_back;
  out.read_back_matches = out.read_back == out.written;
  uint64_t host_before = __rdtsc();
  auto sample = guest.sample(0);
  uint64_t host_after = __rdtsc();
  if (!sample) return sample.error();
  out.guest_minus_host_cycles = static_cast<int64_t>(sample->guest_tsc - host_before);
  // Honoured: host_before + written <= guest <= host_after + written
  // (modulo 2^64, no scaling on a scratch VM at the default rate).
  uint64_t expected_low = host_before + out.written;
  out.guest_follows = static_cast<int64_t>(sample->guest_tsc - expected_low) >= 0 &&
                      static_cast<int64_t>(host_after + out.written - sample->guest_tsc) >= 0;
  return {};
}

}  // namespace

Result<ProbeReport> probe_host(const System& sys) {
  ProbeReport r;
  auto version = sys.api_version();
  if (!version) return version.error();
  r.api_version = *version;
  r.adjust_clock_flags = static_cast<uint32_t>(sys.check_extension(Capability::adjust_clock).value_or(0));
  r.tsc_control = has(sys, Capability::tsc_control);
  r.vm_tsc_control = has(sys, Capability::vm_tsc_control);
  r.get_tsc_khz = has(sys, Capability::get_tsc_khz);
  r.kvmclock_ctrl = has(sys, Capability::kvmclock_ctrl);
  r.pit2 = has(sys, Capability::pit2);
  r.pit_state2 = has(sys, Capability::pit_state2);
  r.vcpu_attributes = has(sys, Capability::vcpu_attributes);
  r.scaling_supported = r.tsc_control;
  r.clocksource = read_clocksource();

  auto guest = ClockGuest::create(sys, 1);
  if (!guest) return guest.error();
  auto khz = guest->vm().get_tsc_khz();
  if (!khz) return khz.error();
  r.host_khz = *khz;
  auto first = guest->sample(0);  // the vCPU has run: the masterclock can be on
  if (!first) return first.error();
  auto clock = guest->vm().get_clock();
  if (!clock) return clock.error();
  r.clock_flags_after_run = clock->flags;
  r.masterclock_possible = r.clocksource == "tsc" && (clock->flags & KVM_CLOCK_TSC_STABLE);

  auto attr = guest->vcpus()[0].has_tsc_offset_attr();
  r.tsc_offset_attr = attr.ok() && *attr;
  if (!r.tsc_offset_attr) {
    r.offset.not_attempted_reason = "missing vCPU attribute KVM_VCPU_TSC_OFFSET";
    return r;
  }
  MIGCLOCK_TRY(probe_offset(*guest, r.offset));
  return r;
}

}  // namespace migclock::kvm
