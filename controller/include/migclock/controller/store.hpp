// The durable journal behind the controller, as an interface: the embedded
// default is SQLite (sqlite_store.hpp); a distributed store can implement the
// same three operations for multi-controller deployments.
//
// Records are (table, key) → JSON document (+ optional blob), or the
// deletion of a key. commit() is atomic and durable when it returns ok: the controller acknowledges a
// state-changing request only after the commit holding it has returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "migclock/common/result.hpp"

namespace migclock::controller {

enum class Table { hosts, vms, migrations, snapshots, offsets, commands, tokens };
const char* table_name(Table);

struct Record {
  Table table = Table::hosts;
  std::string key;
  std::string json;  // the document
  std::string blob;  // snapshots: the bytes as uploaded
  bool erase = false;  // delete (table, key) instead (pruning old offsets)
  uint64_t stamp = 0;  // store-private, set by Store::stage() (etcd: the key's remote-change epoch)
};

class Store {
 public:
  virtual ~Store() = default;
  // All records in one transaction; ok only once durable.
  virtual Status commit(const std::vector<Record>& records) = 0;
  // Every record of a table (startup). Blobs are not loaded.
  virtual Result<std::vector<Record>> load(Table table) = 0;
  // One record with its blob, or nullopt.
  virtual Result<std::optional<Record>> get(Table table, const std::string& key) = 0;
  // Called as records are handed to the journal, under the lock of the
  // change that made them (the core's). A store shared by several
  // controllers (etcd_store.hpp) notes there what each change was based on
  // and refuses its commit with errc::conflict if another controller
  // changed a key meanwhile. Conflicts fail only their own changes.
  virtual void stage(std::vector<Record>& /*records*/) {}
  // The records of changes that failed alone (conflict, unavailable): a
  // shared store puts their keys' stored state back into the cache, so no
  // change that never was stays visible.
  virtual void abandoned(const std::vector<Record>& /*records*/) {}
  // The most records one commit() should carry (etcd limits the operations
  // of a transaction): the journal groups changes up to it. A single change
  // larger than it is still sent whole.
  virtual std::size_t max_batch_records() const { return SIZE_MAX; }
  // A linearizable read of one key for the cache: a shared store reads it
  // from the cluster and, if another controller changed it and the cache
  // has not heard yet, puts the stored state into the cache first.
  virtual Status read_fresh(Table /*table*/, const std::string& /*key*/) { return {}; }
};

// SQLite in WAL mode with synchronous=FULL at `dir`/controller.db, mode
// 0600 (it holds the token hashes and every snapshot).
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& dir);

}  // namespace migclock::controller
