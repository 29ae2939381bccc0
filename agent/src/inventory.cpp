#include "migclock/agent/inventory.hpp"

#include "migclock/agent/domain_xml.hpp"
#include "migclock/agent/qemu_process.hpp"
#include "migclock/kvm/debugfs.hpp"

namespace migclock::agent {

const char* state_name(int s) {
  switch (s) {
    case VIR_DOMAIN_NOSTATE: return "nostate";
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "blocked";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutdown";
    case VIR_DOMAIN_SHUTOFF: return "shutoff";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
    default: return "unknown";
  }
}

Result<DomainRecord> read_domain_record(virDomainPtr dom, const std::string& kvm_debugfs) {
  DomainRecord r;
  char uuid[VIR_UUID_STRING_BUFLEN] = {0};
  if (virDomainGetUUIDString(dom, uuid) < 0) return libvirt_error("virDomainGetUUIDString");
  r.uuid = uuid;
  if (const char* n = virDomainGetName(dom)) r.name = n;
  int state = 0, reason = 0;
  if (virDomainGetState(dom, &state, &reason, 0) < 0) return libvirt_error("virDomainGetState " + r.name);
  r.state = state_name(state);
  const bool active = virDomainIsActive(dom) == 1;
  if (active) {
    const int n = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
    r.vcpus = n > 0 ? static_cast<unsigned>(n) : 0;
  } else {
    const int n = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG);
    r.vcpus = n > 0 ? static_cast<unsigned>(n) : 0;
  }
  const std::string xml = take_libvirt_string(virDomainGetXMLDesc(dom, 0));
  if (xml.empty()) return libvirt_error("virDomainGetXMLDesc " + r.name);
  r.clock_xml = clock_element(xml).value_or("");
  r.agent_connected = guest_agent_connected(xml);
  r.companion_socket = companion_socket_path(xml).value_or("");
  if (active) {
    if (auto pid = find_qemu_pid(r.uuid)) {
      r.qemu_pid = *pid;
      if (auto vms = kvm::read_vm_debugfs(*pid, kvm_debugfs)) {
        for (const auto& vm : *vms) r.debugfs_dirs.push_back(vm.dir);
      }
    }
  }
  return r;
}

namespace {
void keep_history(DomainRecord& fresh, const DomainRecord& old) {
  fresh.last_event = old.last_event;
  fresh.last_event_realtime_ns = old.last_event_realtime_ns;
  fresh.last_sync = old.last_sync;
  fresh.last_capture_realtime_ns = old.last_capture_realtime_ns;
  fresh.last_capture_file = old.last_capture_file;
}
}  // namespace

void Inventory::replace_all(std::vector<DomainRecord> records) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, DomainRecord> next;
  for (auto& r : records) {
    auto it = by_uuid_.find(r.uuid);
    if (it != by_uuid_.end()) keep_history(r, it->second);
    next[r.uuid] = std::move(r);
  }
  by_uuid_ = std::move(next);
}

void Inventory::upsert(DomainRecord rec) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_uuid_.find(rec.uuid);
  if (it != by_uuid_.end()) keep_history(rec, it->second);
  by_uuid_[rec.uuid] = std::move(rec);
}

void Inventory::remove(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  by_uuid_.erase(uuid);
}

void Inventory::set_agent_connected(const std::string& uuid, bool connected) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it != by_uuid_.end()) it->second.agent_connected = connected;
}

void Inventory::set_state(const std::string& uuid, const std::string& state) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it != by_uuid_.end()) it->second.state = state;
}

void Inventory::note_event(const std::string& uuid, const std::string& event, int64_t realtime_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return;
  it->second.last_event = event;
  it->second.last_event_realtime_ns = realtime_ns;
}

void Inventory::note_sync(const std::string& uuid, const SyncOutcome& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it != by_uuid_.end()) it->second.last_sync = outcome;
}

void Inventory::note_capture(const std::string& uuid, int64_t realtime_ns, const std::string& file) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return;
  it->second.last_capture_realtime_ns = realtime_ns;
  it->second.last_capture_file = file;
}

std::optional<DomainRecord> Inventory::get(const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return std::nullopt;
  return it->second;
}

std::optional<DomainRecord> Inventory::find_by_name(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [u, r] : by_uuid_) {
    if (r.name == name) return r;
  }
  return std::nullopt;
}

std::vector<DomainRecord> Inventory::all() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<DomainRecord> out;
  for (const auto& [u, r] : by_uuid_) out.push_back(r);
  return out;
}

size_t Inventory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_uuid_.size();
}

}  // namespace migclock::agent
