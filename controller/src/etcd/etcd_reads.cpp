// EtcdStore's reads (etcd_store.hpp): load() and get(), read_keys() (the
// current state of some keys in one txn), and what brings the cache up to
// etcd's state: read_fresh(), abandoned(), refresh(), resync_dirty() and
// apply_fresh(), which hands records newer than the cache to the remote
// sink. The watch (etcd_watch.cpp) and a lost commit (etcd_commit.cpp)
// feed the cache through apply_fresh() too.
#include "migclock/controller/etcd_store.hpp"

#include <rapidjson/document.h>

#include <set>

#include "gateway.hpp"
#include "migclock/net/json.hpp"

namespace migclock::controller {

using namespace etcd;  // gateway.hpp: the JSON gateway's helpers

namespace {

constexpr Table kAllTables[] = {Table::hosts,   Table::vms,      Table::migrations, Table::snapshots,
                                Table::offsets, Table::commands, Table::tokens};

}  // namespace

Result<std::vector<EtcdStore::Fresh>> EtcdStore::read_keys(const std::vector<std::string>& keys, int64_t& revision) {
  net::JsonWriter w;
  w.begin_object().key("success").begin_array();
  for (const auto& k : keys)
    w.begin_object().key("request_range").begin_object().key("key").value(b64(k)).end_object().end_object();
  w.end_array().end_object();
  auto answer = call("/v3/kv/txn", w.str());
  if (!answer) return answer.error();
  auto doc = parse(*answer);
  if (!doc) return doc.error();
  revision = num((*doc)["header"], "revision");
  auto responses = doc->FindMember("responses");
  if (responses == doc->MemberEnd() || !responses->value.IsArray() || responses->value.Size() != keys.size())
    return make_error(errc::malformed_input, "etcd read of " + std::to_string(keys.size()) + " keys: unexpected answer");
  std::vector<Fresh> out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Fresh f;
    f.key = keys[i];
    const auto& rr = responses->value[static_cast<rapidjson::SizeType>(i)];
    auto range = rr.FindMember("response_range");
    if (range != rr.MemberEnd()) {
      auto kvs = kvs_of(range->value);
      if (!kvs.empty()) {
        f.present = true;
        f.value = std::move(kvs.front().value);
        f.mod = kvs.front().mod;
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

void EtcdStore::abandoned(const std::vector<Record>& records) {
  std::lock_guard<std::mutex> commit_lock(commit_mutex_);
  std::vector<std::string> keys;
  std::set<std::string> unique;
  for (const auto& r : records) {
    std::string k = key_of(r.table, r.key);
    if (unique.insert(k).second) keys.push_back(std::move(k));
  }
  refresh(keys);
}

Status EtcdStore::read_fresh(Table table, const std::string& key) {
  std::lock_guard<std::mutex> commit_lock(commit_mutex_);
  const std::string k = key_of(table, key);
  int64_t rev = 0;
  auto now = read_keys({k}, rev);
  if (!now) return now.error();
  const Fresh& f = now->front();
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    auto kn = known_.find(k);
    if ((kn == known_.end() ? 0 : kn->second.mod) == (f.present ? f.mod : 0)) return {};  // the cache has it
  }
  apply_fresh(*now, rev);
  return {};
}

void EtcdStore::resync_dirty() {
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    keys.swap(dirty_);
  }
  if (!keys.empty()) refresh(keys);
}

void EtcdStore::refresh(const std::vector<std::string>& keys) {
  int64_t rev = 0;
  auto now = read_keys(keys, rev);
  if (!now) {
    std::lock_guard<std::mutex> lock(map_mutex_);
    dirty_.insert(dirty_.end(), keys.begin(), keys.end());
    return;
  }
  apply_fresh(*now, rev);
}

void EtcdStore::apply_fresh(const std::vector<Fresh>& fresh, int64_t revision) {
  // commit_mutex_ held: no own txn is in flight, so anything newer than
  // what we know is another controller's.
  std::vector<const Fresh*> newer;
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (const auto& f : fresh) {
      auto kn = known_.find(f.key);
      if (kn != known_.end() && kn->second.seen >= revision) continue;
      newer.push_back(&f);
    }
  }
  if (newer.empty()) return;
  std::vector<Record> records;
  const std::string table_prefix = options_.prefix + "/";
  for (const Fresh* f : newer) {
    if (f->key.compare(0, table_prefix.size(), table_prefix) != 0) continue;
    std::string rest = f->key.substr(table_prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos) continue;
    std::string table = rest.substr(0, slash);
    for (Table t : kAllTables) {
      if (table != table_name(t)) continue;
      Record r;
      r.table = t;
      r.key = rest.substr(slash + 1);
      r.erase = !f->present;
      r.json = f->value;
      records.push_back(std::move(r));
    }
  }
  auto under_lock = [&] {
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (const Fresh* f : newer) {
      known_[f->key] = Known{f->present ? f->mod : 0, revision};
      ++epoch_[f->key];  // changes staged on the state before are stale now
    }
  };
  if (sink_ && !records.empty()) sink_(records, under_lock);
  else under_lock();
}

Result<std::vector<Record>> EtcdStore::load(Table table) {
  const std::string p = options_.prefix + "/" + table_name(table) + "/";
  net::JsonWriter w;
  w.begin_object().key("key").value(b64(p)).key("range_end").value(b64(prefix_end(p))).end_object();
  auto answer = call("/v3/kv/range", w.str());
  if (!answer) return answer.error();
  auto doc = parse(*answer);
  if (!doc) return doc.error();
  const int64_t revision = num((*doc)["header"], "revision");
  // The watch starts after the first load: changes between two tables'
  // loads come again and are skipped where already seen.
  if (load_revision_ == 0) load_revision_ = revision;
  std::vector<Record> out;
  std::lock_guard<std::mutex> lock(map_mutex_);
  for (auto& kv : kvs_of(*doc)) {
    auto& kn = known_[kv.key];
    if (kn.seen < revision) kn = Known{kv.mod, revision};
    Record r;
    r.table = table;
    r.key = kv.key.substr(p.size());
    r.json = std::move(kv.value);
    out.push_back(std::move(r));
  }
  if (applied_.load() == 0) applied_.store(load_revision_);
  return out;
}

Result<std::optional<Record>> EtcdStore::get(Table table, const std::string& key) {
  // One txn of reads: the record and (snapshots) its bytes at one revision.
  const std::string k = key_of(table, key);
  net::JsonWriter w;
  w.begin_object().key("success").begin_array();
  w.begin_object().key("request_range").begin_object().key("key").value(b64(k)).end_object().end_object();
  if (table == Table::snapshots)
    w.begin_object().key("request_range").begin_object().key("key").value(b64(options_.prefix + "/blobs/snapshots/" + key))
        .end_object().end_object();
  w.end_array().end_object();
  auto answer = call("/v3/kv/txn", w.str());
  if (!answer) return answer.error();
  auto doc = parse(*answer);
  if (!doc) return doc.error();
  const int64_t revision = num((*doc)["header"], "revision");
  auto responses = doc->FindMember("responses");
  if (responses == doc->MemberEnd() || !responses->value.IsArray() || responses->value.Empty())
    return make_error(errc::malformed_input, "etcd txn answer without responses");
  std::vector<KeyValue> main, blob;
  auto range0 = responses->value[0].FindMember("response_range");
  if (range0 != responses->value[0].MemberEnd()) main = kvs_of(range0->value);
  if (main.empty()) return std::optional<Record>{};
  if (responses->value.Size() > 1) {
    auto range1 = responses->value[1].FindMember("response_range");
    if (range1 != responses->value[1].MemberEnd()) blob = kvs_of(range1->value);
  }
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    auto& kn = known_[k];
    if (kn.seen < revision && main.front().mod >= kn.mod) kn = Known{main.front().mod, revision};
  }
  Record r;
  r.table = table;
  r.key = key;
  r.json = std::move(main.front().value);
  if (!blob.empty()) r.blob = std::move(blob.front().value);
  return std::optional<Record>(std::move(r));
}

}  // namespace migclock::controller
