// `migclock-controller store copy --from sqlite:DIR --to etcd:ENDPOINTS`:
// every record (tokens, hosts, VMs, migrations, snapshots with their bytes,
// offsets, commands) from one store into another.
#include "migclock/controller/store_copy.hpp"

#include "migclock/controller/app.hpp"

namespace migclock::controller {

Result<StoreOptions> parse_store_spec(const std::string& spec, const std::string& etcd_prefix) {
  StoreOptions o;
  o.etcd_prefix = etcd_prefix;
  if (spec.rfind("sqlite:", 0) == 0 && spec.size() > 7) {
    o.kind = "sqlite";
    o.data_dir = spec.substr(7);
    return o;
  }
  if (spec.rfind("etcd:", 0) == 0 && spec.size() > 5) {
    o.kind = "etcd";
    o.etcd_endpoints = spec.substr(5);
    return o;
  }
  return make_error(errc::invalid_argument, "'" + spec + "': expected sqlite:DIR or etcd:http://HOST:PORT,...");
}

Result<CopyCounts> copy_store(Store& from, Store& to) {
  constexpr Table kOrder[] = {Table::tokens,   Table::hosts,   Table::vms,     Table::offsets,
                              Table::commands, Table::snapshots, Table::migrations};
  CopyCounts counts;
  // The destination's current state first: a compare-and-swap store
  // overwrites only what it has seen.
  for (Table t : kOrder) {
    auto there = to.load(t);
    if (!there) return there.error();
  }
  const std::size_t chunk = std::max<std::size_t>(1, std::min<std::size_t>(to.max_batch_records(), 32));
  for (Table t : kOrder) {
    auto records = from.load(t);
    if (!records) return records.error();
    std::vector<Record> batch;
    for (auto& r : *records) {
      if (t == Table::snapshots) {  // load() leaves the bytes out
        auto full = from.get(t, r.key);
        if (!full) return full.error();
        if (!full->has_value()) continue;
        r = std::move(**full);
        counts.snapshot_bytes += r.blob.size();
      }
      batch.push_back(std::move(r));
      // One snapshot per commit: each may be megabytes.
      if (batch.size() >= chunk || t == Table::snapshots) {
        to.stage(batch);
        MIGCLOCK_TRY(to.commit(batch));
        counts.records += batch.size();
        batch.clear();
      }
    }
    if (!batch.empty()) {
      to.stage(batch);
      MIGCLOCK_TRY(to.commit(batch));
      counts.records += batch.size();
    }
    counts.per_table.emplace_back(table_name(t), records->size());
  }
  return counts;
}

}  // namespace migclock::controller
