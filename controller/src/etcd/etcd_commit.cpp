// EtcdStore::commit() (etcd_store.hpp): every commit is one etcd txn that
// compares each key on the mod_revision this controller last saw, guards a
// new migration with its VM's active-vm index, and on a lost race reads
// back the winner's state for the cache. Also stage() (the epoch stamps that
// refuse changes made on state a remote change replaced) and
// clear_stale_index(). Kept apart from the reads and the watch because the
// compare-and-swap logic is the part that decides what gets written.
#include "migclock/controller/etcd_store.hpp"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "gateway.hpp"
#include "migclock/controller/codec.hpp"
#include "migclock/net/json.hpp"

namespace migclock::controller {

using namespace etcd;  // gateway.hpp: the JSON gateway's helpers

void EtcdStore::stage(std::vector<Record>& records) {
  std::lock_guard<std::mutex> lock(map_mutex_);
  for (auto& r : records) {
    auto it = epoch_.find(key_of(r.table, r.key));
    r.stamp = it == epoch_.end() ? 0 : it->second;
  }
}

Status EtcdStore::commit(const std::vector<Record>& records) {
  if (records.empty()) return {};
  std::lock_guard<std::mutex> commit_lock(commit_mutex_);
  resync_dirty();
  // The last record of a key is its state (a txn may not put a key twice).
  struct Op {
    std::string key;
    const Record* rec = nullptr;
    int64_t expect = 0;
  };
  std::vector<Op> ops;
  std::map<std::string, std::size_t> index;
  std::string stale;
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (const auto& r : records) {
      std::string k = key_of(r.table, r.key);
      auto e = epoch_.find(k);
      if ((e == epoch_.end() ? 0 : e->second) != r.stamp && stale.empty()) stale = std::string(table_name(r.table)) + "/" + r.key;
      auto [it, fresh] = index.emplace(k, ops.size());
      if (fresh) {
        auto kn = known_.find(k);
        ops.push_back(Op{k, &r, kn == known_.end() ? 0 : kn->second.mod});
      } else {
        ops[it->second].rec = &r;
      }
    }
  }
  if (!stale.empty())
    return make_error(errc::conflict, stale + " was changed through another controller after this change was made");

  // Migrations: the VM's open-migration index guards creation (two
  // controllers announcing one VM); the end of a migration frees it.
  struct IndexOp {
    std::string key, id;
    bool create = false;
  };
  std::vector<IndexOp> index_ops;
  std::set<std::string> index_created;
  for (const auto& op : ops) {
    if (op.rec->table != Table::migrations || op.rec->erase) continue;
    auto m = migration_from_json(op.rec->json);
    if (!m) return m.error();
    std::string ik = options_.prefix + "/index/active-vm/" + m->vm_uuid;
    if (op.expect == 0 && !is_terminal(m->phase)) {
      index_ops.push_back(IndexOp{ik, m->id, true});
      index_created.insert(ik);
    } else if (is_terminal(m->phase)) {
      index_ops.push_back(IndexOp{ik, m->id, false});
    }
  }

  net::JsonWriter w;
  w.begin_object().key("compare").begin_array();
  std::map<std::string, int64_t> index_expect;
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (const auto& op : ops) {
      if (op.rec->erase) continue;  // deleting is idempotent
      w.begin_object().key("key").value(b64(op.key)).key("target").value("MOD").key("result").value("EQUAL")
          .key("mod_revision").value(std::to_string(op.expect)).end_object();
    }
    for (const auto& io : index_ops) {
      if (!io.create) continue;
      // A new migration needs the VM to have none open: the index must be
      // absent. Not "as this cache last saw it": the watch may have brought
      // another controller's index after our core decided the VM was free.
      const int64_t expect = 0;
      index_expect[io.key] = expect;
      w.begin_object().key("key").value(b64(io.key)).key("target").value("MOD").key("result").value("EQUAL")
          .key("mod_revision").value(std::to_string(expect)).end_object();
    }
  }
  w.end_array().key("success").begin_array();
  for (const auto& op : ops) {
    if (op.rec->erase) {
      w.begin_object().key("request_delete_range").begin_object().key("key").value(b64(op.key)).end_object().end_object();
      if (op.rec->table == Table::snapshots)
        w.begin_object().key("request_delete_range").begin_object().key("key")
            .value(b64(options_.prefix + "/blobs/snapshots/" + op.rec->key)).end_object().end_object();
      continue;
    }
    w.begin_object().key("request_put").begin_object().key("key").value(b64(op.key)).key("value")
        .value(b64(op.rec->json)).end_object().end_object();
    if (op.rec->table == Table::snapshots)
      w.begin_object().key("request_put").begin_object().key("key")
          .value(b64(options_.prefix + "/blobs/snapshots/" + op.rec->key)).key("value").value(b64(op.rec->blob))
          .end_object().end_object();
  }
  for (const auto& io : index_ops) {
    if (io.create) {
      w.begin_object().key("request_put").begin_object().key("key").value(b64(io.key)).key("value").value(b64(io.id))
          .end_object().end_object();
    } else if (!index_created.count(io.key)) {
      // Only if it still names this migration.
      w.begin_object().key("request_txn").begin_object().key("compare").begin_array().begin_object()
          .key("key").value(b64(io.key)).key("target").value("VALUE").key("result").value("EQUAL")
          .key("value").value(b64(io.id)).end_object().end_array().key("success").begin_array().begin_object()
          .key("request_delete_range").begin_object().key("key").value(b64(io.key)).end_object().end_object()
          .end_array().end_object().end_object();
    }
  }
  w.end_array().key("failure").begin_array();
  // Lost: read back what won, for the cache and the retry.
  for (const auto& op : ops)
    w.begin_object().key("request_range").begin_object().key("key").value(b64(op.key)).end_object().end_object();
  for (const auto& io : index_ops)
    if (io.create)
      w.begin_object().key("request_range").begin_object().key("key").value(b64(io.key)).end_object().end_object();
  w.end_array().end_object();
  const std::string body = w.str();

  bool maybe_applied = false;
  Result<std::string> answer = make_error(errc::unavailable, "not sent");
  for (int attempt = 0; attempt < 2; ++attempt) {
    answer = call("/v3/kv/txn", body);
    if (answer) break;
    if (answer.error().code != make_error_code(errc::unavailable) && answer.error().code != make_error_code(errc::timeout))
      break;
    maybe_applied = true;  // unknown outcome: a later "lost" may be our own earlier attempt
  }
  if (!answer && (answer.error().code == make_error_code(errc::unavailable) ||
                  answer.error().code == make_error_code(errc::timeout))) {
    // The outcome is unknown: read back what is there. Ours → committed
    // after all; else the cache goes back to etcd's state.
    std::vector<std::string> keys;
    keys.reserve(ops.size() + index_ops.size());
    for (const auto& op : ops) keys.push_back(op.key);
    for (const auto& io : index_ops)
      if (io.create) keys.push_back(io.key);
    int64_t rev = 0;
    auto now = read_keys(keys, rev);
    if (!now) {
      std::lock_guard<std::mutex> lock(map_mutex_);
      dirty_.insert(dirty_.end(), keys.begin(), keys.end());
      return make_error(errc::unavailable, answer.error().message() + " (outcome unknown; re-read when etcd answers)");
    }
    bool ours = true;
    std::size_t i = 0;
    for (; i < ops.size(); ++i) {
      const Fresh& f = (*now)[i];
      const Record& r = *ops[i].rec;
      if (r.erase ? f.present : (!f.present || f.value != r.json)) ours = false;
    }
    for (const auto& io : index_ops)
      if (io.create && (*now)[i++].value != io.id) ours = false;
    if (ours) {
      std::lock_guard<std::mutex> lock(map_mutex_);
      for (const auto& f : *now) known_[f.key] = Known{f.present ? f.mod : 0, rev};
      return {};
    }
    apply_fresh(*now, rev);
    return make_error(errc::unavailable, answer.error().message() + " (not committed)");
  }
  if (!answer && answer.error().code == make_error_code(errc::invalid_argument))
    // etcd refused the request itself (too many operations, too large): nothing was written.
    return make_error(errc::too_large, answer.error().message());
  if (!answer) return answer.error();
  auto doc = parse(*answer);
  if (!doc) return doc.error();
  const int64_t revision = num((*doc)["header"], "revision");
  auto succeeded = doc->FindMember("succeeded");
  const bool ok = succeeded != doc->MemberEnd() && succeeded->value.IsBool() && succeeded->value.GetBool();
  if (ok) {
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (const auto& op : ops) known_[op.key] = Known{op.rec->erase ? 0 : revision, revision};
    for (const auto& io : index_ops) known_[io.key] = Known{io.create ? revision : 0, revision};
    return {};
  }
  // Lost the compare: what is there now.
  auto responses = doc->FindMember("responses");
  auto read_back = [&](std::size_t i, Fresh& f) {
    if (responses == doc->MemberEnd() || !responses->value.IsArray() || i >= responses->value.Size()) return;
    const auto& rr = responses->value[static_cast<rapidjson::SizeType>(i)];
    auto range = rr.FindMember("response_range");
    if (range == rr.MemberEnd()) return;
    auto kvs = kvs_of(range->value);
    if (kvs.empty()) return;
    f.present = true;
    f.value = std::move(kvs.front().value);
    f.mod = kvs.front().mod;
  };
  std::vector<Fresh> all, changed;
  std::string first_changed;
  bool all_ours = maybe_applied;
  std::size_t i = 0;
  std::map<std::string, std::size_t> op_of_migration;  // migration id → ops index
  for (const auto& op : ops) {
    Fresh f;
    f.key = op.key;
    read_back(i++, f);
    if (op.rec->table == Table::migrations) op_of_migration[op.rec->key] = all.size();
    if (op.rec->erase ? f.present : (!f.present || f.value != op.rec->json)) all_ours = false;
    if (!op.rec->erase && f.mod != op.expect) {
      if (first_changed.empty()) first_changed = std::string(table_name(op.rec->table)) + "/" + op.rec->key;
      changed.push_back(f);
    }
    all.push_back(std::move(f));
  }
  struct Winner {
    std::string id, index_key;
    int64_t index_mod = 0;
  };
  std::vector<Winner> winners;  // migrations that took a VM first
  for (const auto& io : index_ops) {
    if (!io.create) continue;
    Fresh f;
    f.key = io.key;
    read_back(i++, f);
    if (f.value != io.id) all_ours = false;
    all.push_back(f);
    if (f.mod == index_expect[io.key]) continue;
    if (first_changed.empty())
      first_changed = "VM " + io.key.substr(io.key.rfind('/') + 1) + " (already migrating: " + f.value + ")";
    changed.push_back(f);
    // Our new migration never was: forget it, and learn the winner's.
    auto mine = op_of_migration.find(io.id);
    if (mine != op_of_migration.end()) {
      Fresh gone = all[mine->second];
      if (std::find_if(changed.begin(), changed.end(), [&](const Fresh& c) { return c.key == gone.key; }) == changed.end())
        changed.push_back(gone);
    }
    if (f.present && f.value != io.id) winners.push_back(Winner{f.value, f.key, f.mod});
  }
  if (all_ours) {
    // Our own earlier attempt went through before its answer was lost.
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (const auto& f : all) known_[f.key] = Known{f.present ? f.mod : 0, revision};
    return {};
  }
  apply_fresh(changed, revision);
  for (const auto& win : winners) {
    const std::string wk = key_of(Table::migrations, win.id);
    auto got = call("/v3/kv/range", "{\"key\":\"" + b64(wk) + "\"}");
    if (!got) continue;
    auto gd = parse(*got);
    if (!gd) continue;
    auto kvs = kvs_of(*gd);
    std::optional<Migration> held;
    if (!kvs.empty()) {
      auto m = migration_from_json(kvs.front().value);
      if (m) held = std::move(m).value();
    }
    if (!held || is_terminal(held->phase)) clear_stale_index(win.index_key, win.index_mod);
    if (kvs.empty()) continue;
    Fresh f;
    f.key = wk;
    f.present = true;
    f.value = std::move(kvs.front().value);
    f.mod = kvs.front().mod;
    apply_fresh({f}, num((*gd)["header"], "revision"));
  }
  return make_error(errc::conflict, (first_changed.empty() ? std::string("a record") : first_changed) +
                                        " was changed through another controller (etcd revision " +
                                        std::to_string(revision) + ")");
}

void EtcdStore::clear_stale_index(const std::string& key, int64_t mod) {
  net::JsonWriter w;
  w.begin_object().key("compare").begin_array().begin_object().key("key").value(b64(key)).key("target").value("MOD")
      .key("result").value("EQUAL").key("mod_revision").value(std::to_string(mod)).end_object().end_array()
      .key("success").begin_array().begin_object().key("request_delete_range").begin_object().key("key")
      .value(b64(key)).end_object().end_object().end_array().end_object();
  auto answer = call("/v3/kv/txn", w.str());
  if (!answer) spdlog::warn("etcd: stale index {} not cleared: {}", key, answer.error().message());
  else spdlog::info("etcd: cleared stale index {} (it named an ended or missing migration)", key);
}

}  // namespace migclock::controller
