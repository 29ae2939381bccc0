// EtcdStore's reads (etcd_store.hpp): load() and get(), read_keys() (the
// current state of some keys in one txn), and what brings the cache up to
// etcd's state: read_fresh(), abandoned(), refresh(), resync_dirty(),
// reload() (after a compaction overtook the watch) and apply_fresh(), which hands records newer than the cache to the remote
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

struct RangeReads {
  int64_t revision = 0;
  std::vector<std::vector<KeyValue>> kvs;  // per range, in the order asked
};

// Ranges (key, range_end; "" = the key alone) read in one txn, so all at
// one revision.
Result<RangeReads> read_ranges(EtcdStore& store, const std::vector<std::pair<std::string, std::string>>& ranges) {
  net::JsonWriter w;
  w.begin_object().key("success").begin_array();
  for (const auto& [key, end] : ranges) {
    w.begin_object().key("request_range").begin_object().key("key").value(b64(key));
    if (!end.empty()) w.key("range_end").value(b64(end));
    w.end_object().end_object();
  }
  w.end_array().end_object();
  auto answer = store.call("/v3/kv/txn", w.str());
  if (!answer) return answer.error();
  auto doc = parse(*answer);
  if (!doc) return doc.error();
  auto responses = doc->FindMember("responses");
  if (responses == doc->MemberEnd() || !responses->value.IsArray() || responses->value.Size() != ranges.size())
    return make_error(errc::malformed_input,
                      "etcd read of " + std::to_string(ranges.size()) + " keys or ranges: unexpected answer");
  RangeReads out;
  out.revision = num((*doc)["header"], "revision");
  for (const auto& rr : responses->value.GetArray()) {
    auto range = rr.FindMember("response_range");
    out.kvs.push_back(range == rr.MemberEnd() ? std::vector<KeyValue>{} : kvs_of(range->value));
  }
  return out;
}

}  // namespace

Result<std::vector<EtcdStore::Fresh>> EtcdStore::read_keys(const std::vector<std::string>& keys, int64_t& revision) {
  std::vector<std::pair<std::string, std::string>> ranges;
  ranges.reserve(keys.size());
  for (const auto& k : keys) ranges.emplace_back(k, std::string());
  auto read = read_ranges(*this, ranges);
  if (!read) return read.error();
  revision = read->revision;
  std::vector<Fresh> out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Fresh f;
    f.key = keys[i];
    auto& kvs = read->kvs[i];
    if (!kvs.empty()) {
      f.present = true;
      f.value = std::move(kvs.front().value);
      f.mod = kvs.front().mod;
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

Status EtcdStore::reload() {
  std::lock_guard<std::mutex> commit_lock(commit_mutex_);
  // Every table and the VM index, in one txn: one revision for all.
  std::vector<std::string> prefixes;
  for (Table t : kAllTables) prefixes.push_back(options_.prefix + "/" + table_name(t) + "/");
  prefixes.push_back(options_.prefix + "/index/");
  std::vector<std::pair<std::string, std::string>> ranges;
  ranges.reserve(prefixes.size());
  for (const auto& p : prefixes) ranges.emplace_back(p, prefix_end(p));
  auto read = read_ranges(*this, ranges);
  if (!read) return read.error();
  const int64_t revision = read->revision;
  // What differs from the cache: changed or new keys, and keys gone.
  std::vector<Fresh> changed;
  std::set<std::string> present;
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    for (auto& range : read->kvs) {
      for (auto& kv : range) {
        present.insert(kv.key);
        auto kn = known_.find(kv.key);
        if (kn != known_.end() && kn->second.mod == kv.mod) continue;
        changed.push_back(Fresh{kv.key, true, std::move(kv.value), kv.mod});
      }
    }
    for (const auto& [key, kn] : known_) {
      if (kn.mod == 0 || present.count(key)) continue;
      for (const auto& p : prefixes)
        if (key.compare(0, p.size(), p) == 0) changed.push_back(Fresh{key, false, {}, 0});
    }
  }
  apply_fresh(changed, revision);
  if (revision > applied_.load()) applied_.store(revision);
  return {};
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
  std::vector<std::pair<std::string, std::string>> ranges{{k, std::string()}};
  if (table == Table::snapshots) ranges.emplace_back(options_.prefix + "/blobs/snapshots/" + key, std::string());
  auto read = read_ranges(*this, ranges);
  if (!read) return read.error();
  const int64_t revision = read->revision;
  std::vector<KeyValue>& main = read->kvs[0];
  if (main.empty()) return std::optional<Record>{};
  std::vector<KeyValue> blob;
  if (read->kvs.size() > 1) blob = std::move(read->kvs[1]);
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
