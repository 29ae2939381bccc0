// "Committed before answered" at the HTTP edge, including answers that
// change nothing: while the journal cannot commit (another connection holds
// the SQLite write lock, as a stalled disk would), no answer that shows the
// pending change goes out — not the announce itself, not its idempotent
// retry, not a read of the list. A commit that fails turns them into 503.
#include <atomic>
#include <thread>

#include "db_lock.hpp"
#include "fixture.hpp"

namespace migclock::controller::testing {
namespace {

using Durability = ControllerFixture;
using std::chrono::milliseconds;

// A request on its own thread; done() tells whether it was answered.
struct Pending {
  std::atomic<bool> answered{false};
  net::Response res;
  std::thread t;
  template <class F>
  explicit Pending(F f) : t([this, f] {
    res = f();
    answered = true;
  }) {}
  ~Pending() {
    if (t.joinable()) t.join();
  }
  net::Response& wait() {
    t.join();
    return res;
  }
};

TEST_F(Durability, NoAnswerShowsAChangeBeforeItIsCommitted) {
  register_host("hv-a");
  const std::string body = R"({"vm_uuid":"u-race","vm_name":"race","source":"hv-a"})";
  DbConnection other(data_dir + "/controller.db");
  other.hold_write_lock();
  Pending first([&] { return agent("POST", "/api/v1/migrations", body); });
  std::this_thread::sleep_for(milliseconds(300));  // in memory now, its commit waiting
  Pending retry([&] { return agent("POST", "/api/v1/migrations", body); });
  Pending list([&] { return reader("GET", "/api/v1/migrations?vm=u-race"); });
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_FALSE(first.answered) << "acknowledged before the commit";
  EXPECT_FALSE(retry.answered) << "the idempotent retry was answered before the first announce was durable";
  EXPECT_FALSE(list.answered) << "a read showed an uncommitted migration";
  // Requests that depend on nothing pending are not held up.
  EXPECT_EQ(as("", "GET", "/healthz").status, 200u);
  other.release();

  auto& a = first.wait();
  auto& b = retry.wait();
  auto& l = list.wait();
  ASSERT_EQ(a.status, 201u) << a.body;
  ASSERT_EQ(b.status, 200u) << b.body;
  std::string id = json(a)["id"].GetString();
  EXPECT_EQ(json(b)["id"].GetString(), id);
  EXPECT_EQ(json(l)["total"].GetInt(), 1);
  EXPECT_EQ(other.count("migrations WHERE key = '" + id + "'"), 1);
}

TEST_F(Durability, AFailedCommitAnswers503AndNothingAfterItIsAcknowledged) {
  register_host("hv-a");
  std::string id = announce("u-ok");
  DbConnection other(data_dir + "/controller.db");
  other.exec("DROP TABLE vms");  // registering VMs now fails to commit
  auto failed = agent("PUT", "/api/v1/hosts/hv-a",
                      R"({"hostname":"hv-a","tsc_khz":1,"scaling_supported":false,"offset_honoured":"no",)"
                      R"("masterclock_possible":true,"vms":[{"uuid":"v1","name":"web1"}]})");
  EXPECT_EQ(failed.status, 503u) << failed.body;
  EXPECT_NE(failed.body.find("\"error\":\"unavailable\""), std::string::npos);
  // The in-memory state holds the lost change: reads of it are refused too.
  EXPECT_EQ(reader("GET", "/api/v1/vms").status, 503u);
  EXPECT_EQ(reader("GET", "/api/v1/migrations/" + id).status, 503u);
  EXPECT_EQ(as("", "GET", "/readyz").status, 503u);
  auto metrics = reader("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200u) << "metrics must stay readable";
  EXPECT_NE(metrics.body.find("\nmigclock_journal_commit_failures_total 1\n"), std::string::npos)
      << "the failed commit is counted (alert MigclockJournalCommitFailing): " << metrics.body;
}

}  // namespace
}  // namespace migclock::controller::testing
