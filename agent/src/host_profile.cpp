#include "migclock/agent/host_profile.hpp"

#include "migclock/agent/domain_xml.hpp"
#include "migclock/kvm/host_facts.hpp"
#include "migclock/kvm/probe.hpp"
#include "migclock/kvm/tsc_frequency.hpp"

namespace migclock::agent {

namespace {

// KVM's own view, where /dev/kvm opens and a scratch VM can be probed.
void probe_kvm(HostProfile& p, uint32_t& khz) {
  auto sys = kvm::System::open();
  if (!sys) {
    p.facts.kvm = snapshot::KvmPresence::absent;
    p.kvm_reason = sys.error().message();
    return;
  }
  auto report = kvm::probe_host(*sys);
  if (!report) {
    // /dev/kvm opened but a scratch VM could not be probed: unusable here.
    p.facts.kvm = snapshot::KvmPresence::absent;
    p.kvm_reason = report.error().message();
    return;
  }
  p.facts.kvm = snapshot::KvmPresence::present;
  khz = report->host_khz;
  p.facts.scaling_supported = report->scaling_supported;
  p.facts.offset_honoured = report->offset.attempted
                                ? (report->offset.honoured() ? snapshot::OffsetHonoured::yes : snapshot::OffsetHonoured::no)
                                : snapshot::OffsetHonoured::unknown;
  p.masterclock_possible = report->masterclock_possible;
}

// The rate from the first source that states it, after KVM.
kvm::TscFrequency rate_without_kvm(const CapabilitiesFetcher& capabilities, std::optional<bool>& scaling) {
  std::string tried;
  if (capabilities) {
    if (const auto caps = capabilities()) {
      if (const auto counter = capabilities_tsc_counter(*caps)) {
        scaling = counter->scaling;
        return {static_cast<uint32_t>(counter->frequency_hz / 1000), snapshot::TscKhzSource::libvirt_capabilities,
                "libvirt capabilities <counter name='tsc' frequency='" + std::to_string(counter->frequency_hz) + "'/>"};
      }
      tried = "libvirt capabilities have no TSC counter; ";
    } else {
      tried = "libvirt capabilities unavailable; ";
    }
  }
  if (auto cpuid = kvm::tsc_frequency_from_cpuid(kvm::read_cpuid_tsc_leaves())) return *cpuid;
  tried += "CPUID 0x15/0x16 state no rate; ";
  auto calibrated = kvm::calibrate_tsc_khz();
  if (calibrated) return *calibrated;
  return {0, snapshot::TscKhzSource::unknown, tried + calibrated.error().message()};
}

}  // namespace

HostProfile probe_host_profile(const std::string& hostname_override, const CapabilitiesFetcher& capabilities) {
  HostProfile p;
  uint32_t kvm_khz = 0;
  probe_kvm(p, kvm_khz);
  const auto facts = kvm::collect_host_facts(kvm_khz);
  p.facts.hostname = hostname_override.empty() ? facts.hostname : hostname_override;
  p.facts.boot_id = facts.boot_id;
  p.facts.clocksource = facts.clocksource;
  if (kvm_khz != 0) {
    p.facts.tsc_khz = kvm_khz;
    p.facts.tsc_khz_source = snapshot::TscKhzSource::kvm;
    p.tsc_khz_detail = "KVM_GET_TSC_KHZ of a scratch VM";
    return p;
  }
  std::optional<bool> scaling;
  const kvm::TscFrequency rate = rate_without_kvm(capabilities, scaling);
  p.facts.tsc_khz = rate.khz;
  p.facts.tsc_khz_source = rate.source;
  p.tsc_khz_detail = rate.detail;
  // libvirt learns scaling from KVM too; without KVM nothing can scale.
  if (!p.kvm_present()) p.facts.scaling_supported = false;
  else if (scaling) p.facts.scaling_supported = *scaling;
  return p;
}

}  // namespace migclock::agent
