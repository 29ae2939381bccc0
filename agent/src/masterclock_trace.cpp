#include "migclock/agent/masterclock_trace.hpp"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace migclock::agent {

namespace {

constexpr const char* kEvent = "kvm_update_master_clock:";

// "  qemu-system-x86-1234  [001] d..1.  12.3: event: ..." -> 1234. The comm
// may itself contain '-' and spaces; the tid is the number before '[',
// after the last '-'.
std::optional<pid_t> line_tid(const std::string& line) {
  const auto bracket = line.find(" [");
  if (bracket == std::string::npos) return std::nullopt;
  std::string task = line.substr(0, bracket);
  while (!task.empty() && task.back() == ' ') task.pop_back();
  const auto dash = task.rfind('-');
  if (dash == std::string::npos || dash + 1 >= task.size()) return std::nullopt;
  char* end = nullptr;
  const long tid = std::strtol(task.c_str() + dash + 1, &end, 10);
  if (*end != '\0' || tid <= 0) return std::nullopt;
  return static_cast<pid_t>(tid);
}

}  // namespace

std::optional<MasterclockTrace> parse_masterclock_trace(const std::string& trace_text, const std::set<pid_t>& tids) {
  std::optional<MasterclockTrace> newest;
  std::istringstream in(trace_text);
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find(kEvent);
    if (at == std::string::npos || line[0] == '#') continue;
    const auto tid = line_tid(line);
    if (!tid || !tids.count(*tid)) continue;
    std::istringstream fields(line.substr(at + std::string(kEvent).size()));
    std::string k1, k2, k3, clock;
    int mc = -1, matched = -1;
    if (!(fields >> k1 >> mc >> k2 >> clock >> k3 >> matched) || k1 != "masterclock" || k2 != "hostclock" ||
        k3 != "offsetmatched" || (mc != 0 && mc != 1) || matched < 0)
      continue;  // a format this build does not know: ignore rather than guess
    newest = MasterclockTrace{mc == 1, matched != 0, clock, *tid};
  }
  return newest;
}

std::set<pid_t> thread_ids(pid_t pid, const std::string& proc_root) {
  std::set<pid_t> out;
  const std::string dir = proc_root + "/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = readdir(d)) {
    char* end = nullptr;
    const long tid = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && tid > 0) out.insert(static_cast<pid_t>(tid));
  }
  closedir(d);
  return out;
}

Result<MasterclockTrace> read_masterclock_trace(const std::string& tracefs, const std::set<pid_t>& tids) {
  const std::string enable = tracefs + "/events/kvm/kvm_update_master_clock/enable";
  std::ifstream en(enable);
  std::string flag;
  if (!en || !(en >> flag)) return make_error(errc::not_supported, enable + ": not readable (tracefs not mounted?)");
  if (flag != "1") return make_error(errc::not_supported, "tracefs event kvm_update_master_clock is not enabled");
  std::ifstream trace(tracefs + "/trace");
  if (!trace) return make_error(errc::not_supported, tracefs + "/trace: not readable");
  std::stringstream text;
  text << trace.rdbuf();
  auto found = parse_masterclock_trace(text.str(), tids);
  if (!found) return make_error(errc::not_found, "no kvm_update_master_clock event of this VM in the trace buffer");
  return *found;
}

}  // namespace migclock::agent
