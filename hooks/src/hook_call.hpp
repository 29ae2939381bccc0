// One libvirt hook invocation, as libvirt makes it:
//   <hook path> <object id> <op> <sub-op> <extra>   (absent fields are "-")
// with the domain XML on stdin for qemu hooks. The hook's driver ("qemu")
// is its own file name, or the name of its "<driver>.d" directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace migclock::hook {

struct HookCall {
  std::string driver;  // qemu, daemon, network, lxc, libxl
  std::string id;      // domain name ("-" for the daemon hook)
  std::string op;
  std::string sub_op;
  std::string extra;
  std::string xml;     // stdin (may be empty)
  std::string uuid;    // <uuid> of the stdin XML, if any
};

// driver from argv[0]: ".../hooks/qemu" → qemu, ".../hooks/qemu.d/50-x" → qemu,
// ".../hooks/daemon" → daemon; any other name (migclock-hook) → qemu.
std::string driver_from_path(const std::string& argv0);

// nullopt (with *error set) when argv does not have libvirt's four fields.
std::optional<HookCall> parse_hook_call(const std::vector<std::string>& argv, std::string* error);

// The XML filter case: destination side, before anything moves.
inline bool is_migrate_begin(const HookCall& c) { return c.driver == "qemu" && c.op == "migrate" && c.sub_op == "begin"; }

}  // namespace migclock::hook
