// EtcdStore: the Store on etcd v3's JSON gateway (etcd_store.hpp).
#include "migclock/controller/etcd_store.hpp"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <set>

#include "migclock/controller/codec.hpp"
#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"
#include "gateway.hpp"
#include "stream.hpp"

namespace migclock::controller {

using etcd::b64;
using etcd::num;
using etcd::str;
using etcd::unb64;

namespace {

constexpr Table kAllTables[] = {Table::hosts,   Table::vms,      Table::migrations, Table::snapshots,
                                Table::offsets, Table::commands, Table::tokens};

// The key after the last one with `prefix` (etcd's range_end for a prefix).
std::string prefix_end(std::string p) {
  while (!p.empty()) {
    if (static_cast<unsigned char>(p.back()) < 0xff) {
      p.back() = static_cast<char>(static_cast<unsigned char>(p.back()) + 1);
      return p;
    }
    p.pop_back();
  }
  return std::string(1, '\0');
}

Result<rapidjson::Document> parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  if (d.HasParseError() || !d.IsObject())
    return make_error(errc::malformed_input, "etcd answered something not a JSON object: " + body.substr(0, 200));
  return d;
}

struct KeyValue {
  std::string key, value;
  int64_t mod = 0;
};

std::vector<KeyValue> kvs_of(const rapidjson::Value& range_response) {
  std::vector<KeyValue> out;
  if (!range_response.IsObject()) return out;
  auto it = range_response.FindMember("kvs");
  if (it == range_response.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& kv : it->value.GetArray()) {
    KeyValue x;
    if (!unb64(str(kv, "key"), x.key) || !unb64(str(kv, "value"), x.value)) continue;
    x.mod = num(kv, "mod_revision");
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> parse_etcd_endpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    std::string one = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    one.erase(0, one.find_first_not_of(" \t"));
    one.erase(one.find_last_not_of(" \t") + 1);
    if (!one.empty()) {
      std::string h, p;
      bool tls = false;
      if (!etcd::split_endpoint(one, h, p, tls))
        return make_error(errc::invalid_argument, "etcd endpoint '" + one + "': expected http://HOST:PORT or https://HOST:PORT");
      while (!one.empty() && one.back() == '/') one.pop_back();
      out.push_back(one);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty()) return make_error(errc::invalid_argument, "--etcd-endpoints: no endpoint given");
  return out;
}

// Idle keep-alive clients per endpoint (net::Client is one per thread).
struct EtcdStore::Pool {
  std::mutex mutex;
  std::vector<std::vector<std::unique_ptr<net::Client>>> idle;
};

struct EtcdStore::Stream {
  etcd::StreamingPost post;
};

EtcdStore::EtcdStore(EtcdOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()), stream_(std::make_unique<Stream>()) {
  pool_->idle.resize(options_.endpoints.size());
  while (!options_.prefix.empty() && options_.prefix.back() == '/') options_.prefix.pop_back();
}

EtcdStore::~EtcdStore() { stop_watch(); }

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(EtcdOptions options) {
  if (options.endpoints.empty()) return make_error(errc::invalid_argument, "etcd store: no endpoints");
  std::unique_ptr<EtcdStore> s(new EtcdStore(std::move(options)));
  // Any answer will do: the store is reachable.
  auto r = s->call("/v3/kv/range", "{\"key\":\"" + b64(s->options_.prefix + "/") + "\",\"count_only\":true}");
  if (!r) return r.error();
  return s;
}

std::string EtcdStore::key_of(Table t, const std::string& key) const {
  return options_.prefix + "/" + table_name(t) + "/" + key;
}

Result<std::string> EtcdStore::call_once(std::size_t ep, const std::string& path, const std::string& body,
                                         bool& maybe_applied) {
  std::unique_ptr<net::Client> client;
  {
    std::lock_guard<std::mutex> lock(pool_->mutex);
    auto& idle = pool_->idle[ep];
    if (!idle.empty()) {
      client = std::move(idle.back());
      idle.pop_back();
    }
  }
  if (!client) {
    net::ClientOptions o(options_.endpoints[ep], options_.ca_file);
    o.cert_file = options_.cert_file;
    o.key_file = options_.key_file;
    o.timeout = options_.timeout;
    o.max_response_bytes = 256u << 20;
    client = std::make_unique<net::Client>(o);
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!options_.user.empty() && path != "/v3/auth/authenticate") {
    std::lock_guard<std::mutex> lock(auth_mutex_);
    headers.emplace_back("Authorization", auth_token_);
  }
  auto r = client->request("POST", path, body, "application/json", headers);
  if (!r) {
    // Connection refused: not sent. Anything later: it may have been applied.
    if (r.error().message().find("connect") == std::string::npos) maybe_applied = true;
    return r.error();
  }
  {
    std::lock_guard<std::mutex> lock(pool_->mutex);
    pool_->idle[ep].push_back(std::move(client));
  }
  if (r->status == 200) return std::move(r->body);
  if (r->status == 401)  // no or an expired auth token: nothing was applied
    return make_error(errc::not_found, "etcd " + options_.endpoints[ep] + path + ": HTTP 401 " + r->body.substr(0, 200));
  // 503 no leader / leader changed / request timed out: the next member may do.
  if (r->status >= 500) {
    maybe_applied = true;
    return make_error(errc::unavailable, "etcd " + options_.endpoints[ep] + path + ": HTTP " +
                                             std::to_string(r->status) + " " + r->body.substr(0, 300));
  }
  return make_error(errc::invalid_argument, "etcd " + options_.endpoints[ep] + path + ": HTTP " +
                                                std::to_string(r->status) + " " + r->body.substr(0, 300));
}

Result<std::string> EtcdStore::auth_token(bool renew) {
  {
    std::lock_guard<std::mutex> lock(auth_mutex_);
    if (!renew && !auth_token_.empty()) return auth_token_;
  }
  net::JsonWriter w;
  w.begin_object().key("name").value(options_.user).key("password").value(options_.password).end_object();
  auto answer = call("/v3/auth/authenticate", w.str());
  if (!answer) return answer.error();
  auto doc = parse(*answer);
  if (!doc) return doc.error();
  std::string token = str(*doc, "token");
  if (token.empty()) return make_error(errc::invalid_argument, "etcd auth: no token for user '" + options_.user + "'");
  std::lock_guard<std::mutex> lock(auth_mutex_);
  auth_token_ = token;
  return token;
}

Result<std::string> EtcdStore::call(const std::string& path, const std::string& body) {
  bool authed = options_.user.empty() || path == "/v3/auth/authenticate";
  if (!authed) {
    std::lock_guard<std::mutex> lock(auth_mutex_);
    authed = !auth_token_.empty();
  }
  if (!authed) {
    auto t = auth_token(false);
    if (!t) return t.error();
  }
  bool maybe_applied = false;
  const std::size_t n = options_.endpoints.size();
  Error last = make_error(errc::unavailable, "etcd: no endpoint");
  // Two rounds over the endpoints: a member that lost its leader answers
  // 503 for the election's length.
  for (std::size_t round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t ep = (current_.load() + i) % n;
      auto r = call_once(ep, path, body, maybe_applied);
      if (r) {
        current_.store(ep);
        return r;
      }
      last = r.error();
      if (r.error().code == make_error_code(errc::not_found) && !options_.user.empty() &&
          path != "/v3/auth/authenticate" && round == 0 && i == 0) {
        // The token expired (etcd's simple tokens live 5 min): once more with a new one.
        auto t = auth_token(true);
        if (!t) return t.error();
        r = call_once(ep, path, body, maybe_applied);
        if (r) {
          current_.store(ep);
          return r;
        }
        last = r.error();
      }
      if (r.error().code != make_error_code(errc::unavailable) && r.error().code != make_error_code(errc::timeout))
        return r;
    }
    if (round == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return make_error(errc::unavailable, "etcd unreachable on every endpoint: " + last.message());
}

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

void EtcdStore::set_remote_sink(RemoteSink sink) {
  std::lock_guard<std::mutex> lock(commit_mutex_);
  sink_ = std::move(sink);
}

Status EtcdStore::start_watch(RemoteSink sink) {
  set_remote_sink(std::move(sink));
  if (applied_.load() == 0) {
    auto answer = call("/v3/kv/range", "{\"key\":\"" + b64(options_.prefix + "/") + "\",\"count_only\":true}");
    if (!answer) return answer.error();
    auto doc = parse(*answer);
    if (!doc) return doc.error();
    applied_.store(num((*doc)["header"], "revision"));
  }
  watch_thread_ = std::thread([this] { watch_loop(); });
  return {};
}

void EtcdStore::stop_watch() {
  if (!watch_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    watch_stopping_ = true;
  }
  watch_cv_.notify_all();
  stream_->post.cancel();
  if (watch_thread_.joinable()) watch_thread_.join();
}

void EtcdStore::watch_loop() {
  const std::size_t n = options_.endpoints.size();
  std::size_t ep = current_.load();
  auto last_warned = std::chrono::steady_clock::time_point{};
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(watch_mutex_);
      if (watch_stopping_) return;
    }
    const std::string p = options_.prefix + "/";
    net::JsonWriter w;
    w.begin_object().key("create_request").begin_object().key("key").value(b64(p)).key("range_end")
        .value(b64(prefix_end(p))).key("start_revision").value(std::to_string(applied_.load() + 1)).end_object()
        .end_object();
    std::string authorization;
    if (!options_.user.empty()) {
      auto t = auth_token(last_watch_failed_);
      if (t) authorization = *t;
    }
    auto st = stream_->post.run(options_.endpoints[ep % n], "/v3/watch", w.str(),
                                [this](const std::string& m) { return on_watch_message(m); },
                                {options_.ca_file, options_.cert_file, options_.key_file}, authorization);
    last_watch_failed_ = !st.ok();
    std::unique_lock<std::mutex> lock(watch_mutex_);
    if (watch_stopping_) return;
    auto now = std::chrono::steady_clock::now();
    if (!st.ok() && now - last_warned > std::chrono::seconds(10)) {
      spdlog::warn("etcd watch: {}; trying the next endpoint (this controller's cache lags until it is back)",
                   st.error().message());
      last_warned = now;
    }
    ep = (ep + 1) % n;
    watch_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return watch_stopping_; });
  }
}

bool EtcdStore::on_watch_message(const std::string& json) {
  auto doc = parse(json);
  if (!doc) return false;
  auto result = doc->FindMember("result");
  if (result == doc->MemberEnd() || !result->value.IsObject()) {
    spdlog::warn("etcd watch: unexpected message {}", json.substr(0, 200));
    return false;
  }
  const auto& res = result->value;
  if (num(res, "compact_revision") > 0) {
    spdlog::error("etcd watch: revision {} is compacted (this controller was away too long); restart it to reload "
                  "the state", applied_.load() + 1);
    return false;
  }
  auto events = res.FindMember("events");
  if (events == res.MemberEnd() || !events->value.IsArray()) return true;
  // Per revision, as committed: one txn's changes go to the core together.
  std::map<int64_t, std::vector<Fresh>> by_revision;
  const std::string p = options_.prefix + "/";
  for (const auto& ev : events->value.GetArray()) {
    auto kv = ev.FindMember("kv");
    if (kv == ev.MemberEnd()) continue;
    Fresh f;
    if (!unb64(str(kv->value, "key"), f.key)) continue;
    f.present = str(ev, "type") != "DELETE";
    if (f.present && !unb64(str(kv->value, "value"), f.value)) continue;
    const int64_t rev = num(kv->value, "mod_revision");
    f.mod = f.present ? rev : 0;
    by_revision[rev].push_back(std::move(f));
  }
  // Our own commits are known by the time commit_mutex_ is free.
  std::lock_guard<std::mutex> commit_lock(commit_mutex_);
  for (auto& [rev, fresh] : by_revision) {
    apply_fresh(fresh, rev);
    if (rev > applied_.load()) applied_.store(rev);
  }
  return true;
}

Result<EtcdOptions> etcd_options(const StoreOptions& o) {
  auto eps = parse_etcd_endpoints(o.etcd_endpoints);
  if (!eps) return eps.error();
  EtcdOptions eo;
  eo.endpoints = std::move(*eps);
  eo.prefix = o.etcd_prefix;
  eo.ca_file = o.etcd_ca;
  eo.cert_file = o.etcd_cert;
  eo.key_file = o.etcd_key.empty() ? o.etcd_cert : o.etcd_key;
  eo.user = o.etcd_user;
  if (!o.etcd_user.empty()) {
    if (o.etcd_password_file.empty())
      return make_error(errc::invalid_argument, "--etcd-user needs --etcd-password-file");
    FILE* f = std::fopen(o.etcd_password_file.c_str(), "r");
    if (!f) return errno_error(errno, "open " + o.etcd_password_file);
    char buf[1024];
    std::size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    eo.password.assign(buf, n);
    while (!eo.password.empty() && (eo.password.back() == '\n' || eo.password.back() == '\r')) eo.password.pop_back();
  }
  return eo;
}

Result<std::unique_ptr<Store>> open_store(const StoreOptions& o) {
  if (o.kind == "sqlite") {
    if (o.data_dir.empty()) return make_error(errc::invalid_argument, "--data-dir is required with --store sqlite");
    return open_sqlite_store(o.data_dir);
  }
  if (o.kind == "etcd") {
    auto eo = etcd_options(o);
    if (!eo) return eo.error();
    auto s = EtcdStore::open(std::move(*eo));
    if (!s) return s.error();
    return std::unique_ptr<Store>(std::move(*s));
  }
  return make_error(errc::invalid_argument, "--store must be sqlite or etcd, not '" + o.kind + "'");
}

}  // namespace migclock::controller
