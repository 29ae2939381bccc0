// Two real controllers (App, TLS on loopback) sharing one real etcd: tokens
// made by the CLI work on both, concurrent conflicting transitions have one
// winner, and a change through A wakes a watcher on B.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "etcd_cluster.hpp"
#include "fixture.hpp"
#include "net_test_support.hpp"

namespace migclock::controller::testing {
namespace {

using migclock::testing::dev_certs;

struct TwoControllers : ::testing::Test {
  void SetUp() override {
    std::string why;
    EtcdCluster* etcd = shared_etcd(why);
    if (!etcd) GTEST_SKIP() << why;
    endpoints = etcd->endpoints();
    so.kind = "etcd";
    so.etcd_endpoints = endpoints;
    so.etcd_prefix = unique_etcd_prefix();
    write_token = create_token(so, Scope::write, "test").value();
    read_token = create_token(so, Scope::read, "test").value();
    for (const char* h : {"hv-a", "hv-b"}) host_token[h] = create_token(so, Scope::agent, "test", h).value();
    for (int i = 0; i < 2; ++i) start(i);
    for (const char* h : {"hv-a", "hv-b"}) register_host(0, h);
  }
  void TearDown() override {
    for (auto& a : apps)
      if (a) a->stop();
  }
  void start(int i) {
    AppOptions o;
    o.listen = "127.0.0.1:0";
    o.store = "etcd";
    o.etcd_endpoints = endpoints;
    o.etcd_prefix = so.etcd_prefix;
    o.tls_cert = dev_certs().cert;
    o.tls_key = dev_certs().key;
    o.read_timeout_ms = 2000;
    o.reaper_interval_ms = 50;
    o.retention_h = retention_h;
    apps[i] = std::make_unique<App>(o, time ? *time : SystemTimeSource::instance());
    auto p = apps[i]->start();
    ASSERT_TRUE(p.ok()) << p.error().message();
    ports[i] = *p;
  }
  net::Client client(int i, const std::string& token) const {
    return net::Client(net::ClientOptions("https://127.0.0.1:" + std::to_string(ports[i]), dev_certs().ca, token));
  }
  net::Response as(int i, const std::string& token, const std::string& method, const std::string& target,
                   const std::string& body = {}) const {
    auto c = client(i, token);
    auto r = c.request(method, target, body);
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : net::Response{};
  }
  void register_host(int i, const std::string& name, const std::string& vms = "[]") {
    std::string body = R"({"hostname":")" + name + R"(","boot_id":"b","agent_version":"0.1.0","tsc_khz":2899998,)"
                       R"("scaling_supported":false,"clocksource":"tsc","offset_honoured":"yes",)"
                       R"("masterclock_possible":true,"invtsc":"yes","vms":)" + vms + "}";
    auto r = as(i, host_token[name], "PUT", "/api/v1/hosts/" + name, body);
    ASSERT_EQ(r.status, 200u) << r.body;
  }
  std::string announce(int i, const std::string& vm, int* status = nullptr) {
    auto r = as(i, host_token["hv-a"], "POST", "/api/v1/migrations",
                R"({"vm_uuid":")" + vm + R"(","source":"hv-a","destination":"hv-b"})");
    if (status) *status = static_cast<int>(r.status);
    auto d = json(r);
    return d.IsObject() && d.HasMember("id") ? d["id"].GetString() : "";
  }
  static std::string event(const std::string& phase, const std::string& host, const std::string& reason = "") {
    return R"({"phase":")" + phase + R"(","host":")" + host + R"(","at_ns":1)" +
           (reason.empty() ? "" : R"(,"reason":")" + reason + "\"") + "}";
  }
  // Until controller i serves migration id (its watch brought it), ≤ 10 s.
  bool sees(int i, const std::string& id, const std::string& phase = "") {
    for (int k = 0; k < 200; ++k) {
      auto r = as(i, read_token, "GET", "/api/v1/migrations/" + id);
      if (r.status == 200 && (phase.empty() || std::string(json(r)["phase"].GetString()) == phase)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string endpoints;
  StoreOptions so;
  std::string write_token, read_token;
  std::map<std::string, std::string> host_token;
  std::unique_ptr<App> apps[2];
  uint16_t ports[2] = {0, 0};
  const TimeSource* time = nullptr;  // set before SetUp()
  int64_t retention_h = 0;
};

TEST_F(TwoControllers, ATokenMadeByTheCliOnEtcdIsHonouredByBothAtOnce) {
  const std::string cmd = std::string(MIGCLOCK_CONTROLLER_BIN) + " token create --store etcd --etcd-endpoints " +
                          endpoints + " --etcd-prefix " + so.etcd_prefix + " --scope agent --host hv-c";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_TRUE(p);
  char buf[256] = {};
  ASSERT_TRUE(fgets(buf, sizeof buf, p));
  ASSERT_EQ(::pclose(p), 0);
  std::string token(buf);
  while (!token.empty() && token.back() == '\n') token.pop_back();
  ASSERT_FALSE(token.empty());
  host_token["hv-c"] = token;
  register_host(1, "hv-c");  // through B
  // Through A: the token at once (a cache miss reads the store); the host
  // once A's watch brought B's registration (404 until then: reads are from
  // the cache, stale by the watch's delay, docs/controller.md), ≤ 10 s.
  net::Response r;
  for (int k = 0; k < 200; ++k) {
    r = as(0, token, "GET", "/api/v1/hosts/hv-c/commands?wait_s=0");
    if (r.status != 404u) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(as(0, token, "PUT", "/api/v1/hosts/hv-a", "{}").status, 403u) << "bound to hv-c on A too";
}

TEST_F(TwoControllers, ConcurrentConflictingTransitionsHaveExactlyOneWinner) {
  for (int round = 0; round < 8; ++round) {
    const std::string vm = "vm-c" + std::to_string(round);
    std::string id = announce(0, vm);
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(sees(1, id)) << "B never saw " << id;
    // A is told the migration failed, B that it timed out: both end it, differently.
    std::atomic<int> go{0};
    net::Response ra, rb;
    std::thread ta([&] {
      auto c = client(0, write_token);
      while (go.load() == 0) {}
      ra = c.request("POST", "/api/v1/migrations/" + id + "/events", event("failed", "hv-a", "through A")).value();
    });
    std::thread tb([&] {
      auto c = client(1, write_token);
      while (go.load() == 0) {}
      rb = c.request("POST", "/api/v1/migrations/" + id + "/events", event("degraded", "hv-b", "through B")).value();
    });
    go = 1;
    ta.join();
    tb.join();
    ASSERT_TRUE((ra.status == 200u) != (rb.status == 200u))
        << "round " << round << ": A " << ra.status << " " << ra.body << " / B " << rb.status << " " << rb.body;
    auto& lost = ra.status == 200u ? rb : ra;
    EXPECT_EQ(lost.status, 409u) << lost.body;
    const std::string winner = ra.status == 200u ? "failed" : "degraded";
    // Both controllers serve the winner's end; it has one terminal event.
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(sees(i, id, winner)) << "controller " << i;
      auto m = json(as(i, read_token, "GET", "/api/v1/migrations/" + id));
      int terminal = 0;
      for (const auto& e : m["history"].GetArray()) {
        std::string ph = e["phase"].GetString();
        terminal += ph == "failed" || ph == "degraded";
      }
      EXPECT_EQ(terminal, 1) << "controller " << i << " round " << round;
    }
  }
}

TEST_F(TwoControllers, ConcurrentAnnouncesOfOneVmThroughBothYieldOneMigration) {
  for (int round = 0; round < 5; ++round) {
    const std::string vm = "vm-a" + std::to_string(round);
    std::atomic<int> go{0};
    std::string ida, idb;
    int sa = 0, sb = 0;
    std::thread ta([&] {
      while (go.load() == 0) {}
      ida = announce(0, vm, &sa);
    });
    std::thread tb([&] {
      while (go.load() == 0) {}
      idb = announce(1, vm, &sb);
    });
    go = 1;
    ta.join();
    tb.join();
    EXPECT_TRUE((sa == 201 || sa == 200) && (sb == 201 || sb == 200)) << sa << " " << sb;
    EXPECT_FALSE(ida.empty());
    EXPECT_EQ(ida, idb) << "round " << round << ": the second announce answers the open migration";
    for (int i = 0; i < 2; ++i) {
      auto list = json(as(i, read_token, "GET", "/api/v1/migrations?vm=" + vm + "&active=true"));
      // B may still be catching up on A's creation; then at most one.
      EXPECT_LE(list["total"].GetUint64(), 1u) << "controller " << i;
    }
  }
}

TEST_F(TwoControllers, AChangeThroughAWakesAWatcherOnB) {
  std::string id = announce(0, "vm-w");
  ASSERT_TRUE(sees(1, id));
  auto m = json(as(1, read_token, "GET", "/api/v1/migrations/" + id));
  const int64_t v = m["version"].GetInt64();
  net::Response watched;
  auto t0 = std::chrono::steady_clock::now();
  std::thread watcher([&] {
    auto c = client(1, read_token);
    c.set_timeout(std::chrono::seconds(30));
    watched = c.get("/api/v1/migrations/" + id + "?wait_s=20&since_version=" + std::to_string(v)).value();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto r = as(0, host_token["hv-a"], "POST", "/api/v1/migrations/" + id + "/events", event("shipped", "hv-a"));
  ASSERT_EQ(r.status, 200u) << r.body;
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << "B's watcher waited out its wait_s";
  ASSERT_EQ(watched.status, 200u) << watched.body;
  EXPECT_STREQ(json(watched)["phase"].GetString(), "shipped");
  EXPECT_EQ(json(watched)["version"].GetInt64(), v + 1);
}

// /metrics says which controller sweeps phase timeouts: exactly one holds
// the lease; when it stops (revoking it) the other takes over and says so.
TEST_F(TwoControllers, MetricsNameTheOneControllerHoldingTheSweeperLease) {
  const std::string series = "\nmigclock_etcd_sweeper_lease_held ";
  auto held = [&](int i) {
    auto r = as(i, read_token, "GET", "/metrics");
    EXPECT_EQ(r.status, 200u);
    auto at = r.body.find(series);
    EXPECT_NE(at, std::string::npos) << "no sweeper gauge on controller " << i;
    return at == std::string::npos ? -1 : std::atoi(r.body.c_str() + at + series.size());
  };
  int holder = -1;
  for (int k = 0; k < 200 && holder < 0; ++k) {  // ≤ 10 s: the first lease round
    const int a = held(0), b = held(1);
    ASSERT_TRUE(a >= 0 && b >= 0);
    if (a + b == 1) holder = a == 1 ? 0 : 1;
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(holder, 0) << "no single controller reported holding the lease";
  const int other = 1 - holder;
  EXPECT_EQ(held(other), 0);
  apps[holder]->stop();
  bool took = false;
  for (int k = 0; k < 400 && !took; ++k) {
    took = held(other) == 1;
    if (!took) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(took) << "the other controller did not report the lease within 20 s of the holder stopping";
}

TEST_F(TwoControllers, AConsistentReadOnBSeesAChangeJustAcknowledgedByA) {
  for (int round = 0; round < 10; ++round) {
    std::string id = announce(0, "vm-lin" + std::to_string(round));
    auto r = as(1, read_token, "GET", "/api/v1/migrations/" + id + "?consistent=true");
    ASSERT_EQ(r.status, 200u) << "round " << round << ": " << r.body;
    EXPECT_EQ(std::string(json(r)["id"].GetString()), id);
  }
}

TEST_F(TwoControllers, AnAgentLongPollingBGetsTheCommandQueuedThroughA) {
  register_host(1, "hv-a", R"([{"uuid":"u-cmd","name":"web","state":"running"}])");
  // A knows the VM once its watch brought B's heartbeat.
  net::Response queued;
  for (int k = 0; k < 200; ++k) {
    queued = as(0, write_token, "POST", "/api/v1/vms/u-cmd/sync");
    if (queued.status == 202u) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(queued.status, 202u) << queued.body;
  // B takes it (once its watch brought it), so the long poll below waits for a new one.
  const std::string first = json(queued)["id"].GetString();
  bool drained = false;
  for (int k = 0; k < 10 && !drained; ++k) {
    auto c = client(1, host_token["hv-a"]);
    c.set_timeout(std::chrono::seconds(10));
    drained = c.get("/api/v1/hosts/hv-a/commands?wait_s=1").value().body.find(first) != std::string::npos;
  }
  ASSERT_TRUE(drained);
  net::Response polled;
  auto t0 = std::chrono::steady_clock::now();
  std::thread agent([&] {
    auto c = client(1, host_token["hv-a"]);
    c.set_timeout(std::chrono::seconds(30));
    polled = c.get("/api/v1/hosts/hv-a/commands?wait_s=20").value();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto r = as(0, write_token, "POST", "/api/v1/vms/u-cmd/sync");
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string cmd = json(r)["id"].GetString();
  agent.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ASSERT_EQ(polled.status, 200u) << polled.body;
  EXPECT_NE(polled.body.find(cmd), std::string::npos) << polled.body;
}

struct TwoControllersWithRetention : TwoControllers {
  ManualTimeSource clock{SystemTimeSource::instance().realtime_ns(), SystemTimeSource::instance().monotonic_raw_ns()};
  void SetUp() override {
    time = &clock;
    retention_h = 1;
    TwoControllers::SetUp();
  }
};

TEST_F(TwoControllersWithRetention, FinishedMigrationsGoAfterTheRetentionEverywhereWithTheirSnapshots) {
  const std::string ended = announce(0, "vm-r1");
  const std::string open = announce(0, "vm-r2");
  {
    auto c = client(0, host_token["hv-a"]);
    auto up = c.request("PUT", "/api/v1/migrations/" + ended + "/snapshot", ControllerFixture::snapshot_of("vm-r1"),
                        "application/vnd.migclock.snapshot");
    ASSERT_TRUE(up.ok() && up->status == 200u) << (up.ok() ? up->body : up.error().message());
  }
  ASSERT_EQ(as(0, write_token, "POST", "/api/v1/migrations/" + ended + "/events",
               event("failed", "hv-a", "test")).status, 200u);
  ASSERT_TRUE(sees(1, ended, "failed"));
  ASSERT_TRUE(sees(1, open));
  clock.advance_ns(int64_t{59} * 60 * 1'000'000'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(as(1, read_token, "GET", "/api/v1/migrations/" + ended).status, 200u) << "kept within the retention";
  clock.advance_ns(int64_t{2} * 60 * 1'000'000'000);
  bool gone = false;
  for (int k = 0; k < 100 && !gone; ++k) {
    gone = as(0, read_token, "GET", "/api/v1/migrations/" + ended).status == 404u &&
           as(1, read_token, "GET", "/api/v1/migrations/" + ended).status == 404u;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone) << "both controllers dropped the ended migration";
  // Deleted in etcd, not only in memory; the open one stays.
  EtcdOptions eo;
  eo.endpoints = parse_etcd_endpoints(endpoints).value();
  eo.prefix = so.etcd_prefix;
  auto store = EtcdStore::open(eo).value();
  EXPECT_FALSE(store->get(Table::migrations, ended)->has_value());
  EXPECT_FALSE(store->get(Table::snapshots, ended)->has_value());
  const std::string blob_key = so.etcd_prefix + "/blobs/snapshots/" + ended;
  std::string b64(4 * ((blob_key.size() + 2) / 3) + 1, '\0');
  b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                 reinterpret_cast<const unsigned char*>(blob_key.data()),
                                                 static_cast<int>(blob_key.size()))));
  auto blob = store->call("/v3/kv/range", "{\"key\":\"" + b64 + "\"}");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->find("\"kvs\""), std::string::npos) << "the snapshot's bytes are deleted too: " << *blob;
  EXPECT_TRUE(store->get(Table::migrations, open)->has_value());
  EXPECT_EQ(as(1, read_token, "GET", "/api/v1/migrations/" + open).status, 200u);
}

}  // namespace
}  // namespace migclock::controller::testing
