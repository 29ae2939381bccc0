// The SQLite store and the group-commit journal on a real file.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "migclock/controller/journal.hpp"
#include "migclock/controller/metrics.hpp"
#include "migclock/controller/store.hpp"
#include "db_lock.hpp"
#include "net_test_support.hpp"

namespace migclock::controller {
namespace {

TEST(SqliteStore, CommitsAtomicallyAndReopens) {
  std::string dir = migclock::testing::make_temp_dir("migclock-store");
  {
    auto s = open_sqlite_store(dir);
    ASSERT_TRUE(s.ok()) << s.error().message();
    std::string blob("\0\x01\xffsnap", 7);
    ASSERT_TRUE((*s)->commit({{Table::migrations, "m1", R"({"a":1})", {}}, {Table::snapshots, "m1", "{}", blob}}).ok());
    ASSERT_TRUE((*s)->commit({{Table::migrations, "m1", R"({"a":2})", {}}}).ok());  // replace
    auto got = (*s)->get(Table::snapshots, "m1");
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->blob, blob);
    EXPECT_FALSE((*s)->get(Table::snapshots, "nope")->has_value());
  }
  auto s = open_sqlite_store(dir);
  ASSERT_TRUE(s.ok());
  auto rows = (*s)->load(Table::migrations);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].json, R"({"a":2})");
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

TEST(SqliteStore, JournalFileIsOwnerOnlyAndDeletesApply) {
  std::string dir = migclock::testing::make_temp_dir("migclock-store");
  std::string db = dir + "/controller.db";
  {
    auto s = open_sqlite_store(dir);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->commit({{Table::offsets, "h/1", "{}", {}}, {Table::offsets, "h/2", "{}", {}}}).ok());
    Record gone{Table::offsets, "h/1", {}, {}, true};
    ASSERT_TRUE((*s)->commit({gone}).ok());
    auto rows = (*s)->load(Table::offsets);
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].key, "h/2");
    struct stat st {};
    for (const std::string& f : {db, db + "-wal", db + "-shm"}) {
      ASSERT_EQ(::stat(f.c_str(), &st), 0) << f;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
    }
  }
  // A journal an older version left world-readable is tightened on open.
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);
  ASSERT_TRUE(open_sqlite_store(dir).ok());
  struct stat st {};
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

TEST(SqliteStore, UnwritableDirectoryIsAnError) {
  auto s = open_sqlite_store("/proc/migclock-no-such-dir");
  EXPECT_FALSE(s.ok());
}

TEST(Journal, ConcurrentWritersShareCommitsAndAreAckedOnlyAfterThem) {
  std::string dir = migclock::testing::make_temp_dir("migclock-journal");
  auto s = open_sqlite_store(dir);
  ASSERT_TRUE(s.ok());
  Metrics metrics;
  std::atomic<int> acked{0};
  std::atomic<int> missing_at_ack{0};
  {
    Journal j(**s, &metrics);
    std::vector<std::thread> ts;
    ts.reserve(8);
    for (int t = 0; t < 8; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          std::string key = std::to_string(t) + "-" + std::to_string(i);
          std::atomic<bool> done{false};
          // What a handler does: append under its state lock, then wait.
          j.when_committed(j.append({{Table::vms, key, "{}", {}}}), [&, key](const Status& st) {
            // At acknowledgement time the record must be readable from the file.
            if (!st.ok() || !(*s)->get(Table::vms, key)->has_value()) ++missing_at_ack;
            ++acked;
            done = true;
          });
          while (!done) std::this_thread::yield();
        }
      });
    }
    for (auto& t : ts) t.join();
    std::atomic<bool> barrier{false};
    // An empty append names the last sequence number: a barrier.
    j.when_committed(j.append({}), [&](const Status&) { barrier = true; });
    j.stop();
    EXPECT_TRUE(barrier);
  }
  EXPECT_EQ(acked, 400);
  EXPECT_EQ(missing_at_ack, 0);
  EXPECT_EQ((*s)->load(Table::vms)->size(), 400u);
  auto text = metrics.render({});
  // Every acknowledged request was counted in some commit.
  auto pos = text.find("migclock_journal_commit_requests_sum ");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_EQ(std::stod(text.substr(pos + 37)), 400.0);
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

// Sequence numbers: an answer waits for the commit of its own sequence and
// of everything before it; a failed commit fails every later answer.
TEST(Journal, WaitsForTheSequenceAndAFailedCommitIsFinal) {
  std::string dir = migclock::testing::make_temp_dir("migclock-journal");
  auto s = open_sqlite_store(dir);
  ASSERT_TRUE(s.ok());
  Journal j(**s, nullptr);
  testing::DbConnection other(dir + "/controller.db");
  other.hold_write_lock();  // the journal's commit now waits, as on a slow disk
  Journal::Seq s1 = j.append({{Table::vms, "k1", "{}", {}}});
  Journal::Seq s2 = j.append({{Table::vms, "k2", "{}", {}}});
  EXPECT_EQ(s2, s1 + 1);
  EXPECT_EQ(j.append({}), s2) << "an empty append is the last sequence, not a new one";
  std::atomic<int> done{0};
  std::atomic<bool> k2_readable{false};
  j.when_committed(s1, [&](const Status& st) { done += st.ok() ? 1 : 100; });
  j.when_committed(s2, [&](const Status& st) {
    k2_readable = (*s)->get(Table::vms, "k2")->has_value() && (*s)->get(Table::vms, "k1")->has_value();
    done += st.ok() ? 1 : 100;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(done, 0) << "answered while the commit could not happen";
  other.release();
  for (int i = 0; i < 500 && done < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(done, 2);
  EXPECT_TRUE(k2_readable);
  // An already committed sequence answers at once, on this thread.
  bool inline_ok = false;
  j.when_committed(s2, [&](const Status& st) { inline_ok = st.ok(); });
  EXPECT_TRUE(inline_ok);

  other.exec("DROP TABLE vms");  // the next commit fails for real
  std::atomic<int> failed{0};
  Journal::Seq s3 = j.append({{Table::vms, "k3", "{}", {}}});
  j.when_committed(s3, [&](const Status& st) { failed += st.ok() ? 0 : 1; });
  for (int i = 0; i < 500 && failed < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(failed, 1);
  EXPECT_FALSE(j.healthy());
  // Later changes commit fine, but nothing after the lost one may be acknowledged.
  Journal::Seq s4 = j.append({{Table::hosts, "h", "{}", {}}});
  std::atomic<int> later{-1};
  j.when_committed(s4, [&](const Status& st) { later = st.ok() ? 1 : 0; });
  for (int i = 0; i < 500 && later < 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(later, 0);
  bool before_ok = false;
  j.when_committed(s2, [&](const Status& st) { before_ok = st.ok(); });
  EXPECT_TRUE(before_ok) << "what was committed before the failure stays acknowledged";
  j.stop();
  bool after_stop = true;
  j.when_committed(j.append({{Table::hosts, "h2", "{}", {}}}), [&](const Status& st) { after_stop = st.ok(); });
  EXPECT_FALSE(after_stop);
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

}  // namespace
}  // namespace migclock::controller
