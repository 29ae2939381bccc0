// Finding a libvirt domain's QEMU process (its KVM state is then read by
// kvm::read_vm_debugfs).
// libvirt has no public API for the QEMU pid; every QEMU it starts carries
// `-uuid <uuid>` on its command line, which /proc shows to anyone allowed to
// see the process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace migclock::agent {

// The pid of the QEMU running domain `uuid`, if one is visible in `proc_root`.
std::optional<pid_t> find_qemu_pid(const std::string& uuid, const std::string& proc_root = "/proc");

}  // namespace migclock::agent
