// Facts about this host that a snapshot carries so the destination can tell
// what it is restoring from: identity, TSC rate, clocksource, timestamps.
#pragma once

#include <string>

#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::kvm {

std::string read_hostname();
// /proc/sys/kernel/random/boot_id: distinguishes reboots of one host.
std::string read_boot_id();
// The host's current clocksource ("tsc", "kvm-clock", "hpet"...). KVM's
// masterclock needs "tsc".
std::string read_clocksource();

// host_tsc_khz comes from KVM (a VM's default TSC rate is the host's).
snapshot::HostFacts collect_host_facts(uint32_t host_tsc_khz);
// CLOCK_MONOTONIC: the host clock of KVM's PIT (count_load_time).
int64_t clock_monotonic_ns();

// Reads a small sysfs/procfs/debugfs file, trailing newline removed.
Result<std::string> read_text_file(const std::string& path);

}  // namespace migclock::kvm
