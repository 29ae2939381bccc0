#include "migclock/agent/host_profile.hpp"

#include "migclock/kvm/host_facts.hpp"
#include "migclock/kvm/probe.hpp"

namespace migclock::agent {

HostProfile probe_host_profile(const std::string& hostname_override) {
  HostProfile p;
  auto sys = kvm::System::open();
  uint32_t khz = 0;
  if (!sys) {
    p.probe_error = sys.error().message();
  } else if (auto report = kvm::probe_host(*sys); !report) {
    p.probe_error = report.error().message();
  } else {
    khz = report->host_khz;
    p.facts.scaling_supported = report->scaling_supported;
    p.facts.offset_honoured =
        report->offset.attempted ? (report->offset.honoured() ? snapshot::OffsetHonoured::yes : snapshot::OffsetHonoured::no)
                                 : snapshot::OffsetHonoured::unknown;
    p.masterclock_possible = report->masterclock_possible;
  }
  const auto facts = kvm::collect_host_facts(khz);
  p.facts.hostname = hostname_override.empty() ? facts.hostname : hostname_override;
  p.facts.boot_id = facts.boot_id;
  p.facts.tsc_khz = facts.tsc_khz;
  p.facts.clocksource = facts.clocksource;
  return p;
}

}  // namespace migclock::agent
