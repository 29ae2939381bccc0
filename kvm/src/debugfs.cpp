#include "migclock/kvm/debugfs.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "migclock/kvm/host_facts.hpp"

namespace migclock::kvm {
namespace {

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

template <class T>
std::optional<T> read_number(const std::string& path, bool is_signed) {
  auto text = read_text_file(path);
  if (!text || text->empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  T value = is_signed ? static_cast<T>(std::strtoll(text->c_str(), &end, 10))
                      : static_cast<T>(std::strtoull(text->c_str(), &end, 10));
  if (errno != 0 || end == text->c_str()) return std::nullopt;
  return value;
}

VcpuDebugfs read_vcpu(const std::string& vm_dir, const std::string& name) {
  VcpuDebugfs v;
  v.id = static_cast<uint32_t>(std::strtoul(name.c_str() + 4, nullptr, 10));
  v.dir = vm_dir + "/" + name;
  v.tsc_offset = read_number<int64_t>(v.dir + "/tsc-offset", true);
  v.tsc_scaling_ratio = read_number<uint64_t>(v.dir + "/tsc-scaling-ratio", false);
  v.tsc_scaling_frac_bits = read_number<uint32_t>(v.dir + "/tsc-scaling-ratio-frac-bits", false);
  return v;
}

}  // namespace

Result<std::vector<VmDebugfs>> read_vm_debugfs(int pid, const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    int err = errno;
    std::string why = err == ENOENT ? "debugfs not mounted (mount -t debugfs none /sys/kernel/debug)"
                      : err == EACCES ? "debugfs not readable (needs root)"
                                      : std::strerror(err);
    return make_error(errc::unavailable, root + ": " + why);
  }
  if (DIR* d = ::opendir(root.c_str())) {
    ::closedir(d);
  } else {
    return make_error(errc::unavailable, root + ": debugfs not readable: " + std::strerror(errno));
  }
  const std::string prefix = std::to_string(pid) + "-";
  std::vector<VmDebugfs> vms;
  for (const std::string& name : list_dir(root)) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    VmDebugfs vm;
    vm.pid = pid;
    vm.vm_fd = std::atoi(name.c_str() + prefix.size());
    vm.dir = root + "/" + name;
    for (const std::string& entry : list_dir(vm.dir))
      if (entry.compare(0, 4, "vcpu") == 0 && entry.size() > 4) vm.vcpus.push_back(read_vcpu(vm.dir, entry));
    std::sort(vm.vcpus.begin(), vm.vcpus.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    vms.push_back(std::move(vm));
  }
  if (vms.empty()) return make_error(errc::not_found, "no KVM VM of pid " + std::to_string(pid) + " under " + root);
  std::sort(vms.begin(), vms.end(), [](const auto& a, const auto& b) { return a.vm_fd < b.vm_fd; });
  return vms;
}

}  // namespace migclock::kvm
