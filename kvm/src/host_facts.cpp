#include "migclock/kvm/host_facts.hpp"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "migclock/common/time_source.hpp"

namespace migclock::kvm {

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno_error(errno ? errno : ENOENT, "read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string read_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

std::string read_boot_id() { return read_text_file("/proc/sys/kernel/random/boot_id").value_or(std::string()); }

std::string read_clocksource() {
  return read_text_file("/sys/devices/system/clocksource/clocksource0/current_clocksource").value_or(std::string());
}

snapshot::HostFacts collect_host_facts(uint32_t host_tsc_khz) {
  snapshot::HostFacts facts;
  facts.hostname = read_hostname();
  facts.boot_id = read_boot_id();
  facts.tsc_khz = host_tsc_khz;
  // Only KVM gives a rate here: the caller probed it from a scratch VM.
  facts.tsc_khz_source = host_tsc_khz ? snapshot::TscKhzSource::kvm : snapshot::TscKhzSource::unknown;
  facts.kvm = host_tsc_khz ? snapshot::KvmPresence::present : snapshot::KvmPresence::unrecorded;
  facts.clocksource = read_clocksource();
  return facts;
}

int64_t clock_monotonic_ns() { return steady_now_ns(); }

}  // namespace migclock::kvm
