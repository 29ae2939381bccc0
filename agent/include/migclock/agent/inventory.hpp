// The domains the agent knows about, refreshed from libvirt on (re)connect
// and kept current by events. Thread-safe; readers get copies.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "migclock/agent/libvirt_handles.hpp"
#include "migclock/agent/sync_types.hpp"

namespace migclock::agent {

struct DomainRecord {
  std::string uuid;
  std::string name;
  std::string state;  // running, paused, shutoff, …
  int qemu_pid = 0;
  std::vector<std::string> debugfs_dirs;
  unsigned vcpus = 0;
  std::string clock_xml;  // the <clock> element of the live XML
  std::string companion_socket;  // host end of the org.migclock.clock.0 channel ("" none)
  std::optional<bool> agent_connected;  // nullopt: no agent channel / unknown
  std::string last_event;
  int64_t last_event_realtime_ns = 0;
  std::optional<SyncOutcome> last_sync;
  int64_t last_capture_realtime_ns = 0;
  std::string last_capture_file;
};

const char* state_name(int virDomainState);

// Reads one domain's record from libvirt (XML, state, info) and /proc.
Result<DomainRecord> read_domain_record(virDomainPtr dom, const std::string& kvm_debugfs = "/sys/kernel/debug/kvm");

class Inventory {
 public:
  // Replaces the whole set (after a (re)connect), keeping per-VM history
  // (last sync/capture) of domains that are still there.
  void replace_all(std::vector<DomainRecord> records);
  void upsert(DomainRecord rec);  // keeps history
  void remove(const std::string& uuid);
  void set_agent_connected(const std::string& uuid, bool connected);
  void set_state(const std::string& uuid, const std::string& state);
  void note_event(const std::string& uuid, const std::string& event, int64_t realtime_ns);
  void note_sync(const std::string& uuid, const SyncOutcome& outcome);
  void note_capture(const std::string& uuid, int64_t realtime_ns, const std::string& file);

  std::optional<DomainRecord> get(const std::string& uuid) const;
  std::optional<DomainRecord> find_by_name(const std::string& name) const;
  std::vector<DomainRecord> all() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, DomainRecord> by_uuid_;
};

}  // namespace migclock::agent
