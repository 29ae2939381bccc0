// Read-only view of VMs this process does not own (QEMU's), through KVM's
// debugfs: /sys/kernel/debug/kvm/<pid>-<vm fd>/vcpuN/tsc-offset, and
// tsc-scaling-ratio / tsc-scaling-ratio-frac-bits where the host scales.
// Root only; debugfs must be mounted (tools/setup.sh mounts it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migclock/common/result.hpp"

namespace migclock::kvm {

struct VcpuDebugfs {
  uint32_t id = 0;
  std::string dir;
  std::optional<int64_t> tsc_offset;  // the kernel prints it signed (%lld)
  std::optional<uint64_t> tsc_scaling_ratio;
  std::optional<uint32_t> tsc_scaling_frac_bits;
};

struct VmDebugfs {
  int pid = 0;
  int vm_fd = 0;
  std::string dir;
  std::vector<VcpuDebugfs> vcpus;  // sorted by id
};

inline constexpr const char* kKvmDebugfsRoot = "/sys/kernel/debug/kvm";

// Every VM of `pid` (a process may own several). errc::unavailable when
// debugfs is not mounted or not readable, errc::not_found when the pid has
// no VM.
Result<std::vector<VmDebugfs>> read_vm_debugfs(int pid, const std::string& root = kKvmDebugfsRoot);

}  // namespace migclock::kvm
