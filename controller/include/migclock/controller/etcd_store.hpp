// The controller's Store on etcd v3 (issue 13), for several controllers
// sharing one state. Spoken through etcd's JSON gateway (/v3/kv/range,
// /v3/kv/txn, /v3/watch, /v3/lease/*) with the project's HTTP client.
//
// Key layout (docs/controller.md, "etcd store"), under a prefix
// (default "/migclock"):
//   <prefix>/<table>/<key>            the record's JSON document
//                                     (tables: hosts vms migrations snapshots
//                                     offsets commands tokens)
//   <prefix>/blobs/snapshots/<id>     a snapshot's bytes as uploaded
//   <prefix>/index/active-vm/<uuid>   the id of the VM's open migration
//   <prefix>/leader                   the phase-timeout sweeper's lease
//
// Writes: every commit() is ONE etcd txn. Each record's key is compared
// on the mod_revision this controller last saw for it (0: absent), a new
// migration also on its VM's active-vm index, so a change made on stale
// state — another controller wrote the key first — is refused with
// errc::conflict and nothing of the txn is written. The txn's failure
// branch reads the keys back; their current state goes to the remote sink
// (the core's cache) before commit() returns, so a retry runs on the
// winner's state. ok means etcd has committed (raft quorum, fsynced).
//
// Reads: load() reads every table at one revision; watch() then follows
// every change from the next revision and hands the other controllers'
// changes to the remote sink (after a compaction took the revisions it
// needed, it reads the tables again and hands over the differences). Changes a controller staged before a remote
// change to the same key was applied are refused at commit (stage()).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/controller/store.hpp"

namespace migclock::controller {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379"; tried in turn (failover)
  std::string prefix = "/migclock";
  std::chrono::milliseconds timeout{5000};  // per request to one endpoint
  std::size_t max_txn_ops = 128;            // the members' --max-txn-ops (etcd's default)
  // https:// endpoints: the CA to trust ("" = the system's), and a client
  // certificate for members run with --client-cert-auth.
  std::string ca_file, cert_file, key_file;
  // etcd authentication (auth enabled): user and password.
  std::string user, password;
};

// "http://a:2379,https://b:2379" → endpoints (trimmed); invalid_argument if
// none or one is not http(s)://HOST:PORT.
Result<std::vector<std::string>> parse_etcd_endpoints(const std::string& list);

class EtcdStore final : public Store {
 public:
  // Records another controller committed (or the current state of keys
  // after a lost race; erase = absent), and a function the sink must run
  // under the lock that guards the state it updates (Core::apply_remote).
  using RemoteSink = std::function<void(const std::vector<Record>&, const std::function<void()>& under_lock)>;

  // Checks that an endpoint answers.
  static Result<std::unique_ptr<EtcdStore>> open(EtcdOptions options);
  ~EtcdStore() override;

  Status commit(const std::vector<Record>& records) override;
  Result<std::vector<Record>> load(Table table) override;
  Result<std::optional<Record>> get(Table table, const std::string& key) override;
  void stage(std::vector<Record>& records) override;
  void abandoned(const std::vector<Record>& records) override;
  Status read_fresh(Table table, const std::string& key) override;
  // A record takes up to 2 operations in each branch of the transaction.
  std::size_t max_batch_records() const override { return std::max<std::size_t>(1, options_.max_txn_ops / 2); }

  // Follows the prefix from the revision load() read at (or the current
  // one) and gives other controllers' changes to `sink`, which also gets
  // the state read back after a lost race. Reconnects (next endpoint) when
  // a stream breaks.
  Status start_watch(RemoteSink sink);
  // The sink alone (a lost race feeds it too), without a watch.
  void set_remote_sink(RemoteSink sink);
  void stop_watch();
  // The revision up to which every change under the prefix is in this
  // controller's cache (load, then the watch): a read from the cache is at
  // least this fresh. The watch also resumes after it.
  int64_t applied_revision() const { return applied_.load(); }

  // One JSON gateway call (path "/v3/..."), with failover across
  // endpoints; etcd's answer parsed. For the sweeper's lease.
  Result<std::string> call(const std::string& path, const std::string& body);
  const EtcdOptions& options() const { return options_; }
  std::string key_of(Table t, const std::string& key) const;

 private:
  explicit EtcdStore(EtcdOptions options);
  struct Known {
    int64_t mod = 0;   // the key's mod_revision as last seen (0: absent)
    int64_t seen = 0;  // the revision at which it was seen
  };
  struct Pool;
  Result<std::string> call_once(std::size_t ep, const std::string& path, const std::string& body,
                                bool& maybe_applied);
  // etcd auth: a token for the user (cached; renewed when etcd refuses it).
  Result<std::string> auth_token(bool renew);
  std::mutex auth_mutex_;
  std::string auth_token_;
  void watch_loop();
  bool on_watch_message(const std::string& json);
  // Applies keys whose state is newer than known (watch, lost race).
  struct Fresh {
    std::string key;  // full etcd key
    bool present = false;
    std::string value;
    int64_t mod = 0;
  };
  void apply_fresh(const std::vector<Fresh>& fresh, int64_t revision);
  // The keys' state now, in one read (and the revision it is at).
  Result<std::vector<Fresh>> read_keys(const std::vector<std::string>& keys, int64_t& revision);
  // Keys of commits whose outcome stayed unknown: re-read, into the cache.
  void resync_dirty();
  // The keys' stored state into the cache (commit_mutex_ held); dirty if unreachable.
  void refresh(const std::vector<std::string>& keys);
  // Deletes a VM's open-migration index that names an ended or missing
  // migration, if it is still at `mod` (so a new one can be created).
  void clear_stale_index(const std::string& key, int64_t mod);
  // The watch could not resume (its revision was compacted): every table
  // and the VM index read again at one revision; what differs from the
  // cache (deletions included) goes to the sink, and the watch follows on
  // from that revision.
  Status reload();

  EtcdOptions options_;
  std::unique_ptr<Pool> pool_;
  std::atomic<std::size_t> current_{0};  // endpoint that answered last

  std::mutex commit_mutex_;  // one txn at a time; the watch waits for it (own vs remote)
  std::mutex map_mutex_;     // known_, epoch_
  std::unordered_map<std::string, Known> known_;
  std::unordered_map<std::string, uint64_t> epoch_;  // bumped by every remote change applied
  std::vector<std::string> dirty_;
  int64_t load_revision_ = 0;
  std::atomic<int64_t> applied_{0};

  RemoteSink sink_;
  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  bool watch_stopping_ = false;
  bool last_watch_failed_ = false;  // watch thread only: renew the auth token
  bool reload_pending_ = false;     // watch thread only: a compaction overtook the watch
  std::thread watch_thread_;
  struct Stream;
  std::unique_ptr<Stream> stream_;
};

// --store sqlite|etcd and its settings, shared by `serve` and the
// subcommands that open the store.
struct StoreOptions {
  std::string kind = "sqlite";  // sqlite | etcd
  std::string data_dir;         // sqlite
  std::string etcd_endpoints;   // etcd: "http://a:2379,http://b:2379"
  std::string etcd_prefix = "/migclock";
  std::string etcd_ca, etcd_cert, etcd_key;  // https:// endpoints
  std::string etcd_user, etcd_password_file;  // etcd auth
};
Result<std::unique_ptr<Store>> open_store(const StoreOptions& o);
// The EtcdOptions of `o` (endpoints parsed, password read from its file).
Result<EtcdOptions> etcd_options(const StoreOptions& o);

}  // namespace migclock::controller
