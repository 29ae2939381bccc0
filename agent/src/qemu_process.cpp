#include "migclock/agent/qemu_process.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace migclock::agent {

namespace fs = std::filesystem;

namespace {
std::vector<std::string> read_cmdline(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  return args;
}

bool is_pid_dir(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}
}  // namespace

std::optional<pid_t> find_qemu_pid(const std::string& uuid, const std::string& proc_root) {
  if (uuid.empty()) return std::nullopt;
  std::error_code ec;
  for (fs::directory_iterator it(proc_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_pid_dir(name)) continue;
    const auto args = read_cmdline(it->path() / "cmdline");
    if (args.empty() || args[0].find("qemu") == std::string::npos) continue;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "-uuid" && args[i + 1] == uuid) return static_cast<pid_t>(std::stol(name));
    }
  }
  return std::nullopt;
}

}  // namespace migclock::agent
