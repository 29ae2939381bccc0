// The Store contract on both stores (SQLite in a temp dir, a real etcd
// process), and what only the shared store does: compare-and-swap commits
// between two controllers' stores, the VM index, the watch; and the copy
// from SQLite to etcd. TLS and auth: etcd_auth_test.cpp; compaction:
// etcd_compaction_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "etcd_cluster.hpp"
#include "gateway.hpp"  // etcd's base64 keys, for the raw put below
#include "migclock/controller/codec.hpp"
#include "migclock/controller/etcd_store.hpp"
#include "migclock/controller/journal.hpp"
#include "migclock/net/client.hpp"
#include "net_test_support.hpp"

namespace migclock::controller::testing {
namespace {

// ---- the contract, on both stores ----

struct StoreContract : ::testing::TestWithParam<std::string> {
  void SetUp() override {
    if (GetParam() == "etcd") {
      std::string why;
      EtcdCluster* etcd = shared_etcd(why);
      if (!etcd) GTEST_SKIP() << why;
      store = open_etcd_store(etcd->endpoints(), unique_etcd_prefix());
    } else {
      dir = migclock::testing::make_temp_dir("migclock-store");
      store = open_sqlite_store(dir).value();
    }
    ASSERT_TRUE(store);
  }
  void TearDown() override {
    store.reset();
    if (!dir.empty()) (void)std::system(("rm -rf " + dir).c_str());
  }
  // A store that compares does so against what it has seen: load first.
  void load_all() {
    for (Table t : {Table::hosts, Table::snapshots, Table::offsets, Table::tokens}) ASSERT_TRUE(store->load(t).ok());
  }
  std::string dir;
  std::unique_ptr<Store> store;
};

TEST_P(StoreContract, CommitLoadGetEraseRoundTripWithBinaryBlobs) {
  load_all();
  std::string blob("\x00\x01\xff\xfe snapshot \x00 bytes", 21);
  std::vector<Record> recs;
  recs.push_back(Record{Table::hosts, "hv-a", R"({"hostname":"hv-a"})", {}});
  recs.push_back(Record{Table::snapshots, "m-1", R"({"format":"binary"})", blob});
  recs.push_back(Record{Table::offsets, "hv-a/00000000000000000001", R"({"offset_ns":1})", {}});
  recs.push_back(Record{Table::offsets, "hv-a/00000000000000000002", R"({"offset_ns":2})", {}});
  ASSERT_TRUE(store->commit(recs).ok());

  auto hosts = store->load(Table::hosts);
  ASSERT_TRUE(hosts.ok());
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].key, "hv-a");
  EXPECT_EQ((*hosts)[0].json, R"({"hostname":"hv-a"})");
  auto snaps = store->load(Table::snapshots);
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(snaps->size(), 1u);
  EXPECT_TRUE((*snaps)[0].blob.empty()) << "load() leaves blobs out";
  auto snap = store->get(Table::snapshots, "m-1");
  ASSERT_TRUE(snap.ok() && snap->has_value());
  EXPECT_EQ((*snap)->blob, blob) << "byte for byte";
  EXPECT_EQ((*snap)->json, R"({"format":"binary"})");
  EXPECT_FALSE(store->get(Table::snapshots, "m-2")->has_value());

  // Later state replaces; erase deletes; all in one commit.
  ASSERT_TRUE(store->commit({Record{Table::hosts, "hv-a", R"({"hostname":"hv-a","v":2})", {}},
                             Record{Table::offsets, "hv-a/00000000000000000001", {}, {}, true}})
                  .ok());
  EXPECT_EQ((*store->get(Table::hosts, "hv-a"))->json, R"({"hostname":"hv-a","v":2})");
  auto offsets = store->load(Table::offsets);
  ASSERT_EQ(offsets->size(), 1u);
  EXPECT_EQ((*offsets)[0].key, "hv-a/00000000000000000002");
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::Values("sqlite", "etcd"),
                         [](const auto& param_info) { return param_info.param; });

// ---- etcd only: two controllers' stores on one prefix ----

struct EtcdPair : ::testing::Test {
  void SetUp() override {
    std::string why;
    EtcdCluster* etcd = shared_etcd(why);
    if (!etcd) GTEST_SKIP() << why;
    prefix = unique_etcd_prefix();
    a = open_etcd_store(etcd->endpoints(), prefix);
    b = open_etcd_store(etcd->endpoints(), prefix);
    ASSERT_TRUE(a && b);
    for (auto* s : {a.get(), b.get()})
      for (Table t : {Table::hosts, Table::migrations}) ASSERT_TRUE(s->load(t).ok());
  }
  // Staged as the journal does, then committed.
  static Status put(EtcdStore& s, std::vector<Record> recs) {
    s.stage(recs);
    return s.commit(recs);
  }
  static std::string migration(const std::string& id, const std::string& vm, Phase phase, int64_t version) {
    Migration m;
    m.id = id;
    m.vm_uuid = vm;
    m.source = "hv-a";
    m.phase = phase;
    m.version = version;
    return to_json(m);
  }
  std::string prefix;
  std::unique_ptr<EtcdStore> a, b;
};

TEST_F(EtcdPair, AWriteOnStaleStateIsAConflictAndTheLoserLearnsTheWinner) {
  ASSERT_TRUE(put(*a, {Record{Table::hosts, "hv-a", R"({"v":1})", {}}}).ok());
  // b (no watch) never saw v1: its write would overwrite it blind.
  std::vector<Record> learnt;
  b->set_remote_sink([&](const std::vector<Record>& r, const std::function<void()>& under_lock) {
    learnt.insert(learnt.end(), r.begin(), r.end());
    under_lock();
  });
  auto st = put(*b, {Record{Table::hosts, "hv-a", R"({"v":"b"})", {}}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(errc::conflict)) << st.error().message();
  EXPECT_NE(st.error().message().find("hosts/hv-a"), std::string::npos) << st.error().message();
  ASSERT_EQ(learnt.size(), 1u);
  EXPECT_EQ(learnt[0].json, R"({"v":1})") << "the winner's state comes back with the refusal";
  EXPECT_EQ((*a->get(Table::hosts, "hv-a"))->json, R"({"v":1})") << "nothing of the lost txn was written";
  // On the state it learnt, b's next change goes through.
  EXPECT_TRUE(put(*b, {Record{Table::hosts, "hv-a", R"({"v":2})", {}}}).ok());
  // And a, which has not seen v2, now loses.
  EXPECT_EQ(put(*a, {Record{Table::hosts, "hv-a", R"({"v":"a"})", {}}}).error().code, make_error_code(errc::conflict));
}

TEST_F(EtcdPair, AChangeStagedBeforeARemoteChangeWasAppliedIsRefused) {
  std::vector<Record> staged{Record{Table::hosts, "hv-s", R"({"v":"b-stale"})", {}}};
  b->stage(staged);  // b's core made this change on the state it had...
  ASSERT_TRUE(put(*a, {Record{Table::hosts, "hv-s", R"({"v":1})", {}}}).ok());
  // ...then its watch applied a's change to the same key...
  std::mutex mu;
  std::condition_variable cv;
  bool applied = false;
  ASSERT_TRUE(b->start_watch([&](const std::vector<Record>&, const std::function<void()>& under_lock) {
                 under_lock();
                 std::lock_guard<std::mutex> l(mu);
                 applied = true;
                 cv.notify_all();
               }).ok());
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return applied; }));
  }
  // ...so the staged change is stale, though etcd's compare alone would pass now.
  auto st = b->commit(staged);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(errc::conflict));
  EXPECT_EQ((*a->get(Table::hosts, "hv-s"))->json, R"({"v":1})");
  b->stop_watch();
}

TEST_F(EtcdPair, ExactlyOneOfTwoConcurrentChangesOnTheSameVersionWins) {
  ASSERT_TRUE(put(*a, {Record{Table::migrations, "m-1", migration("m-1", "vm-1", Phase::announced, 1), {}}}).ok());
  // b learns m-1 (as its watch would) by loading it.
  auto fresh_b = open_etcd_store(a->options().endpoints.front(), prefix);
  ASSERT_TRUE(fresh_b->load(Table::migrations).ok());
  // Both now change version 1 → 2, differently, at the same time.
  Status sa, sb;
  std::thread ta([&] { sa = put(*a, {Record{Table::migrations, "m-1", migration("m-1", "vm-1", Phase::failed, 2), {}}}); });
  std::thread tb([&] {
    sb = put(*fresh_b, {Record{Table::migrations, "m-1", migration("m-1", "vm-1", Phase::verified, 2), {}}});
  });
  ta.join();
  tb.join();
  ASSERT_NE(sa.ok(), sb.ok()) << "exactly one wins: a " << (sa.ok() ? "ok" : sa.error().message()) << ", b "
                              << (sb.ok() ? "ok" : sb.error().message());
  const Status& lost = sa.ok() ? sb : sa;
  EXPECT_EQ(lost.error().code, make_error_code(errc::conflict)) << lost.error().message();
  auto stored = a->get(Table::migrations, "m-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  auto m = migration_from_json((*stored)->json).value();
  EXPECT_EQ(m.phase, sa.ok() ? Phase::failed : Phase::verified) << "the winner's change is the stored one";
}

TEST_F(EtcdPair, TwoNewMigrationsOfOneVmCannotBothBeOpen) {
  // Two controllers announce the same VM with their own new ids.
  ASSERT_TRUE(put(*a, {Record{Table::migrations, "m-a", migration("m-a", "vm-9", Phase::announced, 1), {}}}).ok());
  std::vector<Record> learnt;
  EtcdStore::RemoteSink sink = [&](const std::vector<Record>& r, const std::function<void()>& under_lock) {
    learnt.insert(learnt.end(), r.begin(), r.end());
    under_lock();
  };
  b->set_remote_sink(sink);  // no watch: b learns only from the lost race
  auto st = put(*b, {Record{Table::migrations, "m-b", migration("m-b", "vm-9", Phase::announced, 1), {}}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(errc::conflict));
  EXPECT_NE(st.error().message().find("m-a"), std::string::npos) << st.error().message();
  // b's cache is told: m-b never was, m-a is the VM's open migration.
  bool forgot_b = false, learnt_a = false;
  for (const auto& r : learnt) {
    forgot_b |= r.key == "m-b" && r.erase;
    learnt_a |= r.key == "m-a" && !r.erase;
  }
  EXPECT_TRUE(forgot_b);
  EXPECT_TRUE(learnt_a);
  EXPECT_FALSE(b->get(Table::migrations, "m-b")->has_value());
  // Once m-a ends, the VM may migrate again.
  ASSERT_TRUE(put(*a, {Record{Table::migrations, "m-a", migration("m-a", "vm-9", Phase::verified, 2), {}}}).ok());
  auto c = open_etcd_store(a->options().endpoints.front(), prefix);
  ASSERT_TRUE(c->load(Table::migrations).ok());
  EXPECT_TRUE(put(*c, {Record{Table::migrations, "m-c", migration("m-c", "vm-9", Phase::announced, 1), {}}}).ok());
}

TEST_F(EtcdPair, ANewMigrationIsRefusedWhenTheWatchBroughtTheOtherControllersIndexFirst) {
  // b's core decided vm-8 was free; before b commits, its watch brings a's
  // migration of vm-8 (and a's index key). b's creation must still lose.
  std::mutex mu;
  std::condition_variable cv;
  bool b_heard = false;
  ASSERT_TRUE(b->start_watch([&](const std::vector<Record>&, const std::function<void()>& under_lock) {
                 under_lock();
                 std::lock_guard<std::mutex> l(mu);
                 b_heard = true;
                 cv.notify_all();
               }).ok());
  std::vector<Record> mine{Record{Table::migrations, "m-b", migration("m-b", "vm-8", Phase::announced, 1), {}}};
  b->stage(mine);  // staged on the state where vm-8 had no migration
  ASSERT_TRUE(put(*a, {Record{Table::migrations, "m-a", migration("m-a", "vm-8", Phase::announced, 1), {}}}).ok());
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return b_heard; })) << "b's watch did not bring m-a";
  }
  auto st = b->commit(mine);
  b->stop_watch();
  ASSERT_FALSE(st.ok()) << "two open migrations of vm-8";
  EXPECT_EQ(st.error().code, make_error_code(errc::conflict));
  EXPECT_FALSE(b->get(Table::migrations, "m-b")->has_value());
}

TEST_F(EtcdPair, AStaleIndexNamingAMissingMigrationIsClearedSoTheVmCanMigrateAgain) {
  // An index left naming a migration that is not there (an older version,
  // an operator's hand): the first creation loses and clears it, the retry
  // (as commit_op does) creates.
  net::Client raw(net::ClientOptions(a->options().endpoints.front()));
  auto enc = [](const std::string& v) { return etcd::b64(v); };
  auto r = raw.request("POST", "/v3/kv/put",
                       R"({"key":")" + enc(prefix + "/index/active-vm/vm-7") + R"(","value":")" + enc("m-gone") + "\"}");
  ASSERT_TRUE(r.ok() && r->status == 200u) << (r.ok() ? r->body : r.error().message());
  auto first = put(*a, {Record{Table::migrations, "m-new", migration("m-new", "vm-7", Phase::announced, 1), {}}});
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.error().message().find("m-gone"), std::string::npos) << first.error().message();
  auto again = put(*a, {Record{Table::migrations, "m-new", migration("m-new", "vm-7", Phase::announced, 1), {}}});
  EXPECT_TRUE(again.ok()) << again.error().message();
  EXPECT_TRUE(a->get(Table::migrations, "m-new")->has_value());
}

TEST_F(EtcdPair, TheWatchBringsTheOtherControllersChangesButNotOnesOwn) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Record> seen_by_b, seen_by_a;
  auto sink_into = [&](std::vector<Record>& into) {
    return [&mu, &cv, &into](const std::vector<Record>& r, const std::function<void()>& under_lock) {
      std::lock_guard<std::mutex> l(mu);
      into.insert(into.end(), r.begin(), r.end());
      under_lock();
      cv.notify_all();
    };
  };
  ASSERT_TRUE(a->start_watch(sink_into(seen_by_a)).ok());
  ASSERT_TRUE(b->start_watch(sink_into(seen_by_b)).ok());
  ASSERT_TRUE(put(*a, {Record{Table::hosts, "hv-w", R"({"hostname":"hv-w"})", {}},
                       Record{Table::tokens, "abc", R"({"scope":"read"})", {}}})
                  .ok());
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return seen_by_b.size() >= 2; }))
      << "b's watch did not bring a's commit";
  EXPECT_EQ(seen_by_b[0].key, "hv-w");
  EXPECT_EQ(seen_by_b[0].json, R"({"hostname":"hv-w"})");
  EXPECT_EQ(seen_by_b[1].table, Table::tokens);
  l.unlock();
  // b's own later change to the key it learnt goes through (it compares on
  // the revision the watch told it) and a hears of it.
  ASSERT_TRUE(put(*b, {Record{Table::hosts, "hv-w", R"({"hostname":"hv-w","v":2})", {}}}).ok());
  l.lock();
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return !seen_by_a.empty(); }));
  EXPECT_EQ(seen_by_a.back().json, R"({"hostname":"hv-w","v":2})");
  EXPECT_EQ(seen_by_a.size(), 1u) << "a's own commit is not fed back to it";
  l.unlock();
  a->stop_watch();
  b->stop_watch();
}

TEST_F(EtcdPair, AConsistentReadBringsAChangeTheCacheHasNotHeardOf) {
  std::vector<Record> learnt;
  b->set_remote_sink([&](const std::vector<Record>& r, const std::function<void()>& under_lock) {
    learnt.insert(learnt.end(), r.begin(), r.end());
    under_lock();
  });  // no watch: b hears only by asking
  ASSERT_TRUE(put(*a, {Record{Table::migrations, "m-r", migration("m-r", "vm-r", Phase::announced, 1), {}}}).ok());
  ASSERT_TRUE(b->read_fresh(Table::migrations, "m-r").ok());
  ASSERT_EQ(learnt.size(), 1u);
  EXPECT_EQ(learnt[0].key, "m-r");
  // Asked again with nothing new: the cache is not disturbed.
  ASSERT_TRUE(b->read_fresh(Table::migrations, "m-r").ok());
  EXPECT_EQ(learnt.size(), 1u);
  // And b's next change on it goes through (it compares on what it read).
  EXPECT_TRUE(put(*b, {Record{Table::migrations, "m-r", migration("m-r", "vm-r", Phase::shipped, 2), {}}}).ok());
}

TEST_F(EtcdPair, TheJournalSplitsABacklogIntoTransactionsEtcdAccepts) {
  // 300 queued changes: more than one etcd txn may carry (128 operations).
  Journal journal(*a, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  int ok = 0, failed = 0;
  for (int i = 0; i < 300; ++i)
    journal.when_committed(journal.append({Record{Table::hosts, "h" + std::to_string(i), "{}", {}}}), [&](const Status& st) {
      std::lock_guard<std::mutex> l(mu);
      (st.ok() ? ok : failed)++;
      cv.notify_all();
    });
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return ok + failed == 300; }));
  EXPECT_EQ(ok, 300);
  EXPECT_TRUE(journal.healthy());
  EXPECT_EQ(b->load(Table::hosts)->size(), 300u);
  // One change too big for a txn fails alone; the journal goes on.
  std::vector<Record> huge;
  huge.reserve(200);
  for (int i = 0; i < 200; ++i) huge.push_back(Record{Table::vms, "v" + std::to_string(i), "{}", {}});
  Status big, after;
  bool done_big = false, done_after = false;
  l.unlock();
  journal.when_committed(journal.append(huge), [&](const Status& st) {
    std::lock_guard<std::mutex> g(mu);
    big = st;
    done_big = true;
    cv.notify_all();
  });
  journal.when_committed(journal.append({Record{Table::hosts, "after", "{}", {}}}), [&](const Status& st) {
    std::lock_guard<std::mutex> g(mu);
    after = st;
    done_after = true;
    cv.notify_all();
  });
  l.lock();
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return done_big && done_after; }));
  EXPECT_FALSE(big.ok());
  EXPECT_TRUE(after.ok()) << after.error().message();
  EXPECT_TRUE(journal.healthy());
}

TEST(EtcdEndpoints, ListsAreParsedAndBadOnesNamed) {
  auto ok = parse_etcd_endpoints(" http://127.0.0.1:2379, http://[::1]:2380/ ");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1], "http://[::1]:2380");
  EXPECT_FALSE(parse_etcd_endpoints("").ok());
  auto bad = parse_etcd_endpoints("127.0.0.1:2379");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("127.0.0.1:2379"), std::string::npos);
}

TEST(EtcdEndpoints, AStoreFailsOverToTheNextEndpoint) {
  std::string why;
  EtcdCluster* etcd = shared_etcd(why);
  if (!etcd) GTEST_SKIP() << why;
  // The first endpoint refuses connections.
  auto s = open_etcd_store("http://127.0.0.1:1," + etcd->endpoints(), unique_etcd_prefix());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->load(Table::hosts).ok());
  std::vector<Record> r{Record{Table::hosts, "h", "{}", {}}};
  s->stage(r);
  EXPECT_TRUE(s->commit(r).ok());
}

TEST(StoreCopy, SqliteToEtcdCarriesEveryRecordAndTheSnapshotBytes) {
  std::string why;
  EtcdCluster* etcd = shared_etcd(why);
  if (!etcd) GTEST_SKIP() << why;
  const std::string dir = migclock::testing::make_temp_dir("migclock-copy");
  const std::string prefix = unique_etcd_prefix();
  std::string blob(5000, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7);
  Migration m;
  m.id = "m-open";
  m.vm_uuid = "vm-1";
  m.source = "hv-a";
  {
    auto sq = open_sqlite_store(dir).value();
    std::vector<Record> recs{Record{Table::tokens, "abc", R"({"scope":"read"})", {}},
                             Record{Table::hosts, "hv-a", R"({"hostname":"hv-a"})", {}},
                             Record{Table::vms, "vm-1", R"({"uuid":"vm-1"})", {}},
                             Record{Table::offsets, "hv-a/00000000000000000001", R"({"offset_ns":1})", {}},
                             Record{Table::commands, "c-1", R"({"id":"c-1"})", {}},
                             Record{Table::snapshots, "m-open", R"({"format":"binary"})", blob},
                             Record{Table::migrations, "m-open", to_json(m), {}}};
    ASSERT_TRUE(sq->commit(recs).ok());
  }
  const std::string cmd = std::string(MIGCLOCK_CONTROLLER_BIN) + " store copy --from sqlite:" + dir + " --to etcd:" +
                          etcd->endpoints() + " --etcd-prefix " + prefix + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_TRUE(p);
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  ASSERT_EQ(::pclose(p), 0) << out;
  EXPECT_NE(out.find("copied 7 records (5000 snapshot bytes)"), std::string::npos) << out;

  auto e = open_etcd_store(etcd->endpoints(), prefix);
  for (Table t : {Table::tokens, Table::hosts, Table::vms, Table::offsets, Table::commands, Table::snapshots,
                  Table::migrations})
    EXPECT_EQ(e->load(t)->size(), 1u) << table_name(t);
  auto snap = e->get(Table::snapshots, "m-open");
  ASSERT_TRUE(snap.ok() && snap->has_value());
  EXPECT_EQ((*snap)->blob, blob) << "byte for byte";
  // The open migration holds its VM in etcd too: a second one is refused.
  Migration other = m;
  other.id = "m-second";
  std::vector<Record> second{Record{Table::migrations, "m-second", to_json(other), {}}};
  e->stage(second);
  EXPECT_EQ(e->commit(second).error().code, make_error_code(errc::conflict));
  (void)std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace migclock::controller::testing
