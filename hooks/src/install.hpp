// Installing the hook without clobbering anyone else's.
//
// libvirt (9.0) runs <hooks>/qemu and then every executable in
// <hooks>/qemu.d/ in strcmp order, feeding one filter's non-empty output to
// the next. So: if <hooks>/qemu is free, or already ours, install there;
// if someone else's hook is there, install as <hooks>/qemu.d/50-migclock
// and leave theirs alone. One hook dir serves every daemon on the machine,
// session daemons included (libvirt has no per-user hook dir). libvirt
// looks for hooks at daemon start and on SIGHUP only.
#pragma once

#include <string>

#include "migclock/common/result.hpp"

namespace migclock::hook {

inline constexpr const char* kDefaultHooksDir = "/etc/libvirt/hooks";
inline constexpr const char* kDropInName = "50-migclock";
// Present in the binary: identifies an installed copy as ours.
extern const char kHookMarker[];

struct InstallResult {
  std::string path;  // where the hook now is
  std::string note;  // what was done and why
};

// Copies `binary` (atomically: temp file + rename, mode 0755).
Result<InstallResult> install_hook(const std::string& hooks_dir, const std::string& binary, bool force_drop_in);
// Removes our copies (only files that carry the marker).
Result<InstallResult> uninstall_hook(const std::string& hooks_dir);

bool is_our_hook(const std::string& path);

}  // namespace migclock::hook
