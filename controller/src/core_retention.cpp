// Core: retention. Migrations that ended more than the retention ago are
// deleted with their snapshots, from memory and from the store.
#include <algorithm>
#include <mutex>

#include "migclock/controller/core.hpp"

namespace migclock::controller {

Applied<std::size_t> Core::retire(int64_t now_ns, int64_t retention_ns) {
  Applied<std::size_t> out;
  out.value = 0;
  if (retention_ns <= 0) return out;
  std::unique_lock lock(mutex_);
  for (auto it = migrations_.begin(); it != migrations_.end();) {
    const Migration& m = it->second;
    if (!is_terminal(m.phase) || now_ns - m.updated_ns < retention_ns) {
      ++it;
      continue;
    }
    out.records.push_back(Record{Table::migrations, m.id, {}, {}, true});
    if (m.snapshot) out.records.push_back(Record{Table::snapshots, m.id, {}, {}, true});
    out.wake.push_back(migration_key(m.id));
    migration_order_.erase(std::remove(migration_order_.begin(), migration_order_.end(), m.id), migration_order_.end());
    it = migrations_.erase(it);
    ++out.value;
  }
  return sealed(std::move(out));
}

}  // namespace migclock::controller
