// `migclock debugfs --pid PID [--json]`: read-only view of a foreign VM's
// per-vCPU TSC state (QEMU's), from KVM's debugfs.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "migclock/common/json_writer.hpp"
#include "migclock/common/parse_int.hpp"
#include "migclock/kvm/debugfs.hpp"
#include "verb.hpp"

namespace {

const char* kUsage =
    "usage: migclock debugfs --pid PID [--json] [--root DIR]\n"
    "\n"
    "Lists the KVM VMs of process PID (e.g. a QEMU) and, per vCPU, the TSC\n"
    "offset and - where the host scales the TSC - the scaling ratio and its\n"
    "fraction bits, as KVM's debugfs shows them. Read-only; needs root and a\n"
    "mounted debugfs (tools/setup.sh mounts it).\n"
    "\n"
    "  --pid PID   the VMM process\n"
    "  --json      machine-readable output\n"
    "  --root DIR  KVM debugfs directory (default /sys/kernel/debug/kvm)\n";

using migclock::PrettyJsonWriter;

template <class T>
void optional_number(PrettyJsonWriter& w, const char* key, const std::optional<T>& v) {
  w.key(key);
  if (!v)
    w.null();
  else if constexpr (std::is_signed_v<T>)
    w.value(static_cast<int64_t>(*v));
  else
    w.value(static_cast<uint64_t>(*v));
}

std::string to_json(const std::vector<migclock::kvm::VmDebugfs>& vms) {
  PrettyJsonWriter w;
  w.begin_object().key("vms").begin_array();
  for (const auto& vm : vms) {
    w.begin_object().field("pid", vm.pid).field("vm_fd", vm.vm_fd).field("dir", vm.dir).key("vcpus").begin_array();
    for (const auto& v : vm.vcpus) {
      w.begin_object().field("id", static_cast<uint32_t>(v.id));
      optional_number(w, "tsc_offset", v.tsc_offset);
      optional_number(w, "tsc_scaling_ratio", v.tsc_scaling_ratio);
      optional_number(w, "tsc_scaling_frac_bits", v.tsc_scaling_frac_bits);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return w.str();
}

void print_text(const std::vector<migclock::kvm::VmDebugfs>& vms) {
  for (const auto& vm : vms) {
    std::printf("%s (pid %d, vm fd %d)\n", vm.dir.c_str(), vm.pid, vm.vm_fd);
    for (const auto& v : vm.vcpus) {
      std::printf("  vcpu%-3u tsc-offset %s", v.id, v.tsc_offset ? std::to_string(*v.tsc_offset).c_str() : "n/a");
      if (v.tsc_scaling_ratio)
        std::printf("  scaling %llu >> %u", static_cast<unsigned long long>(*v.tsc_scaling_ratio),
                    v.tsc_scaling_frac_bits.value_or(0));
      else
        std::printf("  (no TSC scaling files: host does not scale)");
      std::printf("\n");
    }
  }
}

int run_debugfs(int argc, char** argv) {
  bool json = false;
  int pid = 0;
  std::string root = migclock::kvm::kKvmDebugfsRoot;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!std::strcmp(argv[i], "--json")) {
      json = true;
    } else if (!std::strcmp(argv[i], "--pid") && i + 1 < argc) {
      const auto v = migclock::parse_int(argv[++i], 1, INT32_MAX);
      if (!v) {
        std::fprintf(stderr, "migclock debugfs: --pid needs a positive number, got '%s'\n", argv[i]);
        return 2;
      }
      pid = static_cast<int>(*v);
    } else if (!std::strcmp(argv[i], "--root") && i + 1 < argc) {
      root = argv[++i];
    } else {
      std::fprintf(stderr, "migclock debugfs: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (pid == 0) {
    std::fprintf(stderr, "migclock debugfs: --pid is required\n%s", kUsage);
    return 2;
  }
  auto vms = migclock::kvm::read_vm_debugfs(pid, root);
  if (!vms) {
    std::fprintf(stderr, "migclock debugfs: %s\n", vms.error().message().c_str());
    return 1;
  }
  if (json)
    std::printf("%s\n", to_json(*vms).c_str());
  else
    print_text(*vms);
  return 0;
}

const migclock::cli::VerbRegistrar kRegistrar("debugfs", "show a foreign VM's per-vCPU TSC state (debugfs)",
                                              run_debugfs);

}  // namespace
