// A watch that falls behind etcd's compaction, against a real etcd process.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "etcd_cluster.hpp"
#include "gateway.hpp"
#include "migclock/controller/etcd_store.hpp"
#include "migclock/net/client.hpp"

namespace migclock::controller::testing {
namespace {

// A watch that resumes at a revision etcd has compacted cannot follow the
// changes one by one: the store reads the tables again, hands the
// differences (a deletion too) to the sink, and follows on from there.
TEST(EtcdCompaction, AWatchOvertakenByACompactionReloadsTheStateAndFollowsOn) {
  if (EtcdCluster::binary().empty()) GTEST_SKIP() << EtcdCluster::missing_message();
  EtcdCluster cluster;  // its own: the compaction is for the whole keyspace
  ASSERT_EQ(cluster.start(1), "");
  auto a = open_etcd_store(cluster.endpoints(), "/compact");
  auto b = open_etcd_store(cluster.endpoints(), "/compact");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->load(Table::hosts).ok());
  auto put = [&](std::vector<Record> recs) {
    a->stage(recs);
    auto st = a->commit(recs);
    ASSERT_TRUE(st.ok()) << st.error().message();
  };
  put({Record{Table::hosts, "gone", "{}", {}}, Record{Table::hosts, "kept", R"({"v":1})", {}}});
  ASSERT_EQ(b->load(Table::hosts)->size(), 2u);  // b's watch would start after this
  // While b is not watching: a deletion, a change, a new record; then etcd
  // compacts away the revisions in between.
  put({Record{Table::hosts, "gone", {}, {}, true}});
  put({Record{Table::hosts, "kept", R"({"v":2})", {}}});
  put({Record{Table::hosts, "new", "{}", {}}});
  net::Client c(net::ClientOptions(cluster.endpoint(0)));
  auto head = c.request("POST", "/v3/kv/range", R"({"key":"AA==","count_only":true})");
  ASSERT_TRUE(head.ok() && head->status == 200u);
  auto doc = etcd::parse(head->body);
  ASSERT_TRUE(doc.ok());
  const int64_t revision = etcd::num((*doc)["header"], "revision");
  auto compacted = c.request("POST", "/v3/kv/compaction",
                             R"({"revision":")" + std::to_string(revision) + R"(","physical":true})");
  ASSERT_TRUE(compacted.ok() && compacted->status == 200u) << (compacted.ok() ? compacted->body : "");

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Record> seen;  // key → the last record the sink got
  ASSERT_TRUE(b->start_watch([&](const std::vector<Record>& r, const std::function<void()>& under_lock) {
                   under_lock();
                   std::lock_guard<std::mutex> l(mu);
                   for (const auto& x : r) seen[x.key] = x;
                   cv.notify_all();
                 }).ok());
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(15), [&] { return seen.size() >= 3; }))
        << "after the compaction the watch brought " << seen.size() << " of the 3 changes";
    EXPECT_TRUE(seen["gone"].erase) << "the deletion";
    EXPECT_EQ(seen["kept"].json, R"({"v":2})");
    EXPECT_FALSE(seen["new"].erase);
  }
  // And it follows on: the next change comes through the watch.
  put({Record{Table::hosts, "after", "{}", {}}});
  std::unique_lock<std::mutex> l(mu);
  EXPECT_TRUE(cv.wait_for(l, std::chrono::seconds(15), [&] { return seen.count("after") == 1; }))
      << "the watch did not follow on after the reload";
  l.unlock();
  b->stop_watch();
}


}  // namespace
}  // namespace migclock::controller::testing
