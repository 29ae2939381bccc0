// Copying a whole store into another (SQLite → etcd when a deployment
// grows to several controllers): `migclock-controller store copy`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/controller/etcd_store.hpp"
#include "migclock/controller/store.hpp"

namespace migclock::controller {

struct CopyCounts {
  std::size_t records = 0;
  std::size_t snapshot_bytes = 0;
  std::vector<std::pair<std::string, std::size_t>> per_table;
};

// "sqlite:DIR" or "etcd:http://h:2379,..." → StoreOptions.
Result<StoreOptions> parse_store_spec(const std::string& spec, const std::string& etcd_prefix);

// Every record of `from` (snapshots with their bytes) into `to`, replacing
// what `to` holds under the same keys. Stop the controllers first: changes
// made meanwhile may be missed.
Result<CopyCounts> copy_store(Store& from, Store& to);

}  // namespace migclock::controller
