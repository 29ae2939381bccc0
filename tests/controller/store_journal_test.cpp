// The SQLite store and the group-commit journal on a real file.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "migclock/controller/journal.hpp"
#include "migclock/controller/metrics.hpp"
#include "migclock/controller/store.hpp"
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
    for (int t = 0; t < 8; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          std::string key = std::to_string(t) + "-" + std::to_string(i);
          std::atomic<bool> done{false};
          j.submit({{Table::vms, key, "{}", {}}}, [&, key](const Status& st) {
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
    j.submit({}, [&](const Status&) { barrier = true; });  // empty: a barrier
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

}  // namespace
}  // namespace migclock::controller
