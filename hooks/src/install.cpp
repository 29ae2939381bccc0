#include "install.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace migclock::hook {

namespace fs = std::filesystem;

const char kHookMarker[] = "migclock-hook:installed-copy:v1";

bool is_our_hook(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str().find(kHookMarker) != std::string::npos;
}

namespace {

Status copy_atomically(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".migclock-tmp";
  std::error_code ec;
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) return errno_error(ec.value(), "copy " + from + " to " + tmp);
  if (::chmod(tmp.c_str(), 0755) != 0) return errno_error(errno, "chmod " + tmp);
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return errno_error(e, "rename " + tmp + " to " + to);
  }
  return {};
}

}  // namespace

Result<InstallResult> install_hook(const std::string& hooks_dir, const std::string& binary, bool force_drop_in) {
  if (!is_our_hook(binary)) return make_error(errc::invalid_argument, binary + " is not a migclock-hook binary");
  std::error_code ec;
  fs::create_directories(hooks_dir, ec);
  if (ec) return errno_error(ec.value(), "create " + hooks_dir);
  const std::string main_hook = hooks_dir + "/qemu";
  const std::string drop_in_dir = hooks_dir + "/qemu.d";
  const std::string drop_in = drop_in_dir + "/" + kDropInName;
  const bool main_exists = fs::exists(fs::symlink_status(main_hook));
  InstallResult r;
  if (!force_drop_in && (!main_exists || is_our_hook(main_hook))) {
    MIGCLOCK_TRY(copy_atomically(binary, main_hook));
    r.path = main_hook;
    r.note = main_exists ? "updated our hook in place" : "installed as the qemu hook";
    // A drop-in copy from an earlier install would run us twice.
    if (is_our_hook(drop_in)) fs::remove(drop_in, ec);
  } else {
    fs::create_directories(drop_in_dir, ec);
    if (ec) return errno_error(ec.value(), "create " + drop_in_dir);
    MIGCLOCK_TRY(copy_atomically(binary, drop_in));
    r.path = drop_in;
    r.note = main_exists && !is_our_hook(main_hook)
                 ? "another qemu hook exists at " + main_hook + "; left it alone and installed as a qemu.d drop-in"
                 : "installed as a qemu.d drop-in";
  }
  r.note += "; libvirt reads hooks at startup: restart or SIGHUP libvirtd/virtqemud";
  return r;
}

Result<InstallResult> uninstall_hook(const std::string& hooks_dir) {
  InstallResult r;
  std::error_code ec;
  for (const std::string& p : {hooks_dir + "/qemu", hooks_dir + "/qemu.d/" + kDropInName}) {
    if (is_our_hook(p)) {
      fs::remove(p, ec);
      if (ec) return errno_error(ec.value(), "remove " + p);
      r.path += (r.path.empty() ? "" : " ") + p;
    }
  }
  r.note = r.path.empty() ? "no migclock hook installed in " + hooks_dir : "removed";
  return r;
}

}  // namespace migclock::hook
