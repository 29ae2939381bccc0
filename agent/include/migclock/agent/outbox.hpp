// Snapshots waiting for the controller, kept on disk in the state dir so a
// controller outage or an agent restart loses nothing. Files are the
// serialization/ binary envelope (atomic save), named
// <captured_realtime_ns>-<uuid>-<kind>.mcs.
#pragma once

#include <string>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::agent {

struct OutboxItem {
  std::string path;
  std::string uuid;
  std::string kind;  // live | save-restore | suspend-resume | on-request | vmm
};

class Outbox {
 public:
  explicit Outbox(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  Result<OutboxItem> put(const snapshot::Snapshot& s, const std::string& kind);
  std::vector<OutboxItem> pending() const;  // oldest first
  Result<snapshot::Snapshot> load(const OutboxItem& item) const;
  Status remove(const OutboxItem& item) const;

 private:
  std::string dir_;
};

}  // namespace migclock::agent
