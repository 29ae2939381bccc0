#include "hook_call.hpp"

namespace migclock::hook {

std::string driver_from_path(const std::string& argv0) {
  const auto slash = argv0.rfind('/');
  const std::string base = slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = argv0.substr(0, slash);
    const auto dslash = dir.rfind('/');
    const std::string parent = dslash == std::string::npos ? dir : dir.substr(dslash + 1);
    if (parent.size() > 2 && parent.compare(parent.size() - 2, 2, ".d") == 0) return parent.substr(0, parent.size() - 2);
  }
  // Run under its own name (by hand, or from a wrapper): it is a qemu hook.
  for (const char* known : {"daemon", "qemu", "lxc", "network", "libxl", "bhyve"}) {
    if (base == known) return base;
  }
  return "qemu";
}

std::optional<HookCall> parse_hook_call(const std::vector<std::string>& argv, std::string* error) {
  if (argv.size() != 5) {
    if (error)
      *error = "expected libvirt's arguments: <object> <op> <sub-op> <extra> (got " + std::to_string(argv.size() - 1) + ")";
    return std::nullopt;
  }
  HookCall c;
  c.driver = driver_from_path(argv[0]);
  c.id = argv[1];
  c.op = argv[2];
  c.sub_op = argv[3];
  c.extra = argv[4];
  return c;
}

}  // namespace migclock::hook
