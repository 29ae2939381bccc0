// Hosts, VMs, clock offsets, commands (long poll) over TLS with a real journal.
#include <thread>

#include "fixture.hpp"
#include "migclock/controller/store.hpp"

namespace migclock::controller::testing {
namespace {

using Hosts = ControllerFixture;

TEST_F(Hosts, RegistrationHeartbeatAndVmsSurviveRestart) {
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"},{"uuid":"u2","name":"db1","state":"paused"}])");
  auto h1 = json(reader("GET", "/api/v1/hosts/hv-a"));
  int64_t registered = h1["host"]["registered_ns"].GetInt64();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Heartbeat: u2 moved away.
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  auto h2 = json(reader("GET", "/api/v1/hosts/hv-a"));
  EXPECT_EQ(h2["host"]["registered_ns"].GetInt64(), registered);
  EXPECT_GT(h2["host"]["last_seen_ns"].GetInt64(), registered);
  auto vms = json(reader("GET", "/api/v1/vms"));
  ASSERT_EQ(vms["items"].Size(), 2u);
  auto u2 = json(reader("GET", "/api/v1/vms/db1"));
  EXPECT_STREQ(u2["state"].GetString(), "gone");
  EXPECT_STREQ(u2["host"].GetString(), "");
  auto on_a = json(reader("GET", "/api/v1/vms?host=hv-a"));
  EXPECT_EQ(on_a["items"].Size(), 1u);

  stop();
  start();
  auto after = json(reader("GET", "/api/v1/hosts/hv-a"));
  EXPECT_EQ(after["host"]["last_seen_ns"].GetInt64(), h2["host"]["last_seen_ns"].GetInt64());
  EXPECT_EQ(json(reader("GET", "/api/v1/vms"))["items"].Size(), 2u);
}

// A VM that migrated away stays defined, shut off, on its old host: that
// host's heartbeat must not take the VM back from the one running it (the
// operator's sync command would go to the wrong agent).
TEST_F(Hosts, AShutOffReportDoesNotTakeAVmFromTheHostRunningIt) {
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  register_host("hv-b", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");  // migrated to b
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"shutoff"}])");  // left defined on a
  auto v = json(reader("GET", "/api/v1/vms/u1"));
  EXPECT_STREQ(v["host"].GetString(), "hv-b");
  EXPECT_STREQ(v["state"].GetString(), "running");
  // It migrates back: a is running it again.
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  v = json(reader("GET", "/api/v1/vms/u1"));
  EXPECT_STREQ(v["host"].GetString(), "hv-a");
  // b stops reporting it (transient domain gone): a keeps it.
  register_host("hv-b", 2'899'998, "[]");
  EXPECT_STREQ(json(reader("GET", "/api/v1/vms/u1"))["host"].GetString(), "hv-a");
  // Shut off where it runs: the report stands.
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"shutoff"}])");
  v = json(reader("GET", "/api/v1/vms/u1"));
  EXPECT_STREQ(v["host"].GetString(), "hv-a");
  EXPECT_STREQ(v["state"].GetString(), "shutoff");
}

TEST_F(Hosts, RegistrationValidatesFields) {
  auto r = agent("PUT", "/api/v1/hosts/hv-a", R"({"hostname":"hv-b","tsc_khz":1,"scaling_supported":false,"offset_honoured":"no","masterclock_possible":true})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("\"field\":\"hostname\""), std::string::npos) << r.body;
  r = agent("PUT", "/api/v1/hosts/hv-a", R"({"hostname":"hv-a","tsc_khz":"fast","scaling_supported":false,"offset_honoured":"no","masterclock_possible":true})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("\"field\":\"tsc_khz\""), std::string::npos) << r.body;
  r = agent("PUT", "/api/v1/hosts/hv-a", R"({"hostname":"hv-a","tsc_khz":1,"scaling_supported":false,"offset_honoured":"maybe","masterclock_possible":true})");
  EXPECT_NE(r.body.find("\"field\":\"offset_honoured\""), std::string::npos) << r.body;
  r = agent("PUT", "/api/v1/hosts/hv-a", R"({"hostname":"hv-a","tsc_khz":1,"scaling_supported":false,"offset_honoured":"no","masterclock_possible":true,"vms":[{"uuid":"u","name":5}]})");
  EXPECT_NE(r.body.find("\"field\":\"vms[0].name\""), std::string::npos) << r.body;
  EXPECT_EQ(reader("GET", "/api/v1/hosts/hv-a").status, 404u);
}

TEST_F(Hosts, TimeExchangeGivesOrderedControllerTimestamps) {
  auto before = std::chrono::system_clock::now().time_since_epoch();
  int64_t t1 = std::chrono::duration_cast<std::chrono::nanoseconds>(before).count();
  auto r = agent("POST", "/api/v1/time", "{\"t1_ns\":" + std::to_string(t1) + "}");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto d = json(r);
  int64_t t4 = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_EQ(d["t1_ns"].GetInt64(), t1);
  EXPECT_LE(d["t2_ns"].GetInt64(), d["t3_ns"].GetInt64());
  // Same machine, same clock: the controller's stamps lie inside [t1, t4].
  EXPECT_GE(d["t2_ns"].GetInt64(), t1);
  EXPECT_LE(d["t3_ns"].GetInt64(), t4);
  EXPECT_EQ(agent("POST", "/api/v1/time", R"({"t1_ns":"now"})").status, 400u);
}

TEST_F(Hosts, OffsetBetweenHostsIsDifferenceOfThetasWithSummedUncertainty) {
  register_host("hv-a");
  register_host("hv-b");
  auto missing = reader("GET", "/api/v1/hosts/offset?from=hv-a&to=hv-b");
  EXPECT_EQ(missing.status, 409u);
  // θ_A = +5 ms (A is 5 ms behind), θ_B = −2 ms (B is 2 ms ahead): B − A = 7 ms.
  EXPECT_EQ(agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":5000000,"uncertainty_ns":100000,"rtt_ns":200000,"samples":8,"measured_at_ns":1})").status, 204u);
  EXPECT_EQ(agent_of("hv-b", "POST", "/api/v1/hosts/hv-b/clock-offset", R"({"offset_ns":-2000000,"uncertainty_ns":50000,"rtt_ns":100000,"samples":8,"measured_at_ns":2})").status, 204u);
  auto r = json(reader("GET", "/api/v1/hosts/offset?from=hv-a&to=hv-b"));
  EXPECT_EQ(r["offset_ns"].GetInt64(), 7'000'000);
  // Summed, plus the aging of each (kOffsetDriftPpm: 50 ns per ms since it was posted).
  EXPECT_GE(r["uncertainty_ns"].GetInt64(), 150'000);
  EXPECT_LE(r["uncertainty_ns"].GetInt64(), 150'000 + kAgingSlackNs);
  auto back = json(reader("GET", "/api/v1/hosts/offset?from=hv-b&to=hv-a"));
  EXPECT_EQ(back["offset_ns"].GetInt64(), -7'000'000);
  EXPECT_EQ(json(reader("GET", "/api/v1/hosts/hv-a"))["host"]["realtime_offset_ns"].GetInt64(), 5'000'000);
  // History is kept (and survives a restart).
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":5100000,"uncertainty_ns":90000,"measured_at_ns":3})");
  stop();
  start();
  auto hist = json(reader("GET", "/api/v1/hosts/hv-a/clock-offset"));
  ASSERT_EQ(hist["items"].Size(), 2u);
  EXPECT_EQ(hist["items"][1]["offset_ns"].GetInt64(), 5'100'000);
  EXPECT_EQ(reader("GET", "/api/v1/hosts/offset?from=hv-a").status, 400u);
  EXPECT_EQ(reader("GET", "/api/v1/hosts/offset?from=hv-a&to=nope").status, 404u);
  EXPECT_EQ(agent_of("ghost", "POST", "/api/v1/hosts/ghost/clock-offset", R"({"offset_ns":1,"uncertainty_ns":1,"measured_at_ns":1})").status, 404u);
  auto neg = agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":1,"uncertainty_ns":-1,"measured_at_ns":1})");
  EXPECT_EQ(neg.status, 400u);
  EXPECT_NE(neg.body.find("uncertainty_ns"), std::string::npos);
}

// One heartbeat on a loaded host measures loosely; the offset between hosts
// (restore inputs, preflight) keeps the tighter, consistent one before it.
TEST_F(Hosts, OffsetBetweenHostsKeepsATighterEarlierMeasurementOverALooseLatestOne) {
  register_host("hv-a");
  register_host("hv-b");
  agent_of("hv-b", "POST", "/api/v1/hosts/hv-b/clock-offset", R"({"offset_ns":0,"uncertainty_ns":20000,"measured_at_ns":1})");
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":1000000,"uncertainty_ns":30000,"measured_at_ns":2})");
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":-60000000,"uncertainty_ns":80000000,"measured_at_ns":3})");
  auto r = json(reader("GET", "/api/v1/hosts/offset?from=hv-a&to=hv-b"));
  EXPECT_EQ(r["offset_ns"].GetInt64(), 1'000'000);
  EXPECT_GE(r["uncertainty_ns"].GetInt64(), 50'000);
  EXPECT_LE(r["uncertainty_ns"].GetInt64(), 50'000 + kAgingSlackNs);
  // A later measurement that contradicts it (the host's clock was stepped):
  // only what came after the step counts.
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":500000000,"uncertainty_ns":2000000,"measured_at_ns":4})");
  r = json(reader("GET", "/api/v1/hosts/offset?from=hv-a&to=hv-b"));
  EXPECT_EQ(r["offset_ns"].GetInt64(), 500'000'000);
}

// The offsets histograms hold accepted reports only.
TEST_F(Hosts, RefusedOffsetReportsAreNotInTheMetrics) {
  auto count = [&] {
    auto m = reader("GET", "/metrics").body;
    const std::string name = "migclock_clock_offset_abs_seconds_count ";
    auto pos = m.find(name);
    return pos == std::string::npos ? -1 : std::stoi(m.substr(pos + name.size()));
  };
  EXPECT_EQ(agent_of("ghost", "POST", "/api/v1/hosts/ghost/clock-offset", R"({"offset_ns":1,"uncertainty_ns":1,"measured_at_ns":1})").status, 404u);
  EXPECT_EQ(count(), 0);
  register_host("hv-a");
  EXPECT_EQ(agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":1,"uncertainty_ns":1,"measured_at_ns":1})").status, 204u);
  EXPECT_EQ(count(), 1);
}

// The journal keeps what is served: the newest 64 samples per host, pruned
// as samples arrive and, for a table an older controller let grow, at start.
TEST_F(Hosts, OffsetHistoryIsBoundedInTheJournal) {
  register_host("hv-a");
  register_host("hv-b");
  for (int i = 0; i < 70; ++i)
    ASSERT_EQ(agent("POST", "/api/v1/hosts/hv-a/clock-offset",
                    "{\"offset_ns\":" + std::to_string(i) + ",\"uncertainty_ns\":1,\"measured_at_ns\":1}").status, 204u);
  agent_of("hv-b", "POST", "/api/v1/hosts/hv-b/clock-offset", R"({"offset_ns":7,"uncertainty_ns":1,"measured_at_ns":1})");
  stop();
  {
    auto store = open_sqlite_store(data_dir);
    ASSERT_TRUE(store.ok());
    auto rows = (*store)->load(Table::offsets);
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->size(), 65u) << "64 for hv-a, 1 for hv-b";
    // As an older controller would have left it: 100 more old rows for hv-a.
    std::vector<Record> old;
    for (int i = 0; i < 100; ++i) {
      char key[64];
      snprintf(key, sizeof key, "hv-a/%020d", i + 1);
      old.push_back(Record{Table::offsets, key, R"({"offset_ns":-1,"uncertainty_ns":1,"rtt_ns":0,"samples":1,"measured_at_ns":1,"received_ns":1})", {}});
    }
    ASSERT_TRUE((*store)->commit(old).ok());
  }
  start();
  auto hist = json(reader("GET", "/api/v1/hosts/hv-a/clock-offset"));
  ASSERT_EQ(hist["items"].Size(), 64u);
  EXPECT_EQ(hist["items"][0]["offset_ns"].GetInt64(), 6) << "the oldest kept is the 7th of 70";
  EXPECT_EQ(hist["items"][63]["offset_ns"].GetInt64(), 69);
  stop();
  {
    auto store = open_sqlite_store(data_dir);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->load(Table::offsets)->size(), 65u) << "startup pruned the old rows";
  }
  start();
}

TEST_F(Hosts, SyncCommandReachesTheLongPollingAgentAndItsResultTheOperator) {
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  auto empty = agent("GET", "/api/v1/hosts/hv-a/commands?wait_s=0");
  EXPECT_EQ(empty.body, "[]");
  // The agent parks a long poll; the operator queues a sync meanwhile.
  net::Response polled;
  auto started = std::chrono::steady_clock::now();
  std::thread poller([&] {
    auto c = client(agent_token);
    c.set_timeout(std::chrono::seconds(30));
    polled = c.get("/api/v1/hosts/hv-a/commands?wait_s=20").value();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto q = writer("POST", "/api/v1/vms/web1/sync", "{}");
  ASSERT_EQ(q.status, 202u) << q.body;
  std::string id = json(q)["id"].GetString();
  poller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10)) << "long poll was not woken";
  auto cmds = json(polled);
  ASSERT_TRUE(cmds.IsArray());
  ASSERT_EQ(cmds.Size(), 1u);
  EXPECT_EQ(cmds[0]["id"].GetString(), id);
  EXPECT_STREQ(cmds[0]["kind"].GetString(), "sync");
  EXPECT_STREQ(cmds[0]["vm_uuid"].GetString(), "u1");
  EXPECT_STREQ(json(reader("GET", "/api/v1/commands/" + id))["state"].GetString(), "delivered");
  // Delivered commands are not handed out twice.
  EXPECT_EQ(agent("GET", "/api/v1/hosts/hv-a/commands").body, "[]");
  EXPECT_EQ(agent_of("hv-b", "POST", "/api/v1/hosts/hv-b/commands/" + id + "/result", R"({"ok":true})").status, 409u);
  EXPECT_EQ(agent("POST", "/api/v1/hosts/hv-a/commands/" + id + "/result", R"({"ok":true,"message":"synced","results":{"sync_rtt_ns":1200}})").status, 204u);
  EXPECT_EQ(agent("POST", "/api/v1/hosts/hv-a/commands/" + id + "/result", R"({"ok":false})").status, 204u);  // repeat: no-op
  auto done = json(reader("GET", "/api/v1/commands/" + id));
  EXPECT_STREQ(done["state"].GetString(), "done");
  EXPECT_EQ(done["results"]["sync_rtt_ns"].GetInt(), 1200);
  EXPECT_EQ(writer("POST", "/api/v1/vms/nope/sync", "{}").status, 404u);
}

TEST_F(Hosts, LongPollWithoutCommandsReturnsEmptyAfterWait) {
  register_host("hv-a");
  auto t0 = std::chrono::steady_clock::now();
  auto r = agent("GET", "/api/v1/hosts/hv-a/commands?wait_s=1");
  auto dt = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "[]");
  EXPECT_GE(dt, std::chrono::milliseconds(900));
  EXPECT_EQ(agent("GET", "/api/v1/hosts/hv-a/commands?wait_s=61").status, 400u);
  EXPECT_EQ(agent_of("ghost", "GET", "/api/v1/hosts/ghost/commands").status, 404u);
}

TEST_F(Hosts, PreflightReportsEveryReason) {
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  // Destination: 1000 ppm off, no scaling, offsets not honoured, no masterclock, invtsc unknown.
  register_host("hv-b", 2'902'898, "[]", R"("offset_honoured":"no","masterclock_possible":false)");
  auto r = reader("POST", "/api/v1/preflight", R"({"vm":"web1","source":"hv-a","destination":"hv-b"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto d = json(r);
  EXPECT_FALSE(d["compatible"].GetBool());
  std::map<std::string, bool> checks;
  for (const auto& c : d["checks"].GetArray()) checks[c["name"].GetString()] = c["ok"].GetBool();
  EXPECT_TRUE(checks.at("vm_on_source"));
  EXPECT_FALSE(checks.at("tsc_frequency"));
  EXPECT_FALSE(checks.at("invtsc"));
  EXPECT_FALSE(checks.at("masterclock_destination"));
  EXPECT_FALSE(checks.at("offset_writes_honoured"));
  EXPECT_FALSE(checks.at("realtime_offset"));
  EXPECT_EQ(d["reasons"].Size(), 5u);
  EXPECT_TRUE(d["realtime_offset_ns"].IsNull());

  // A good destination: 200 ppm off is inside ±250 ppm.
  register_host("hv-c", 2'900'578);
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":1000,"uncertainty_ns":300,"measured_at_ns":1})");
  agent_of("hv-c", "POST", "/api/v1/hosts/hv-c/clock-offset", R"({"offset_ns":-4000,"uncertainty_ns":200,"measured_at_ns":1})");
  auto ok = json(reader("POST", "/api/v1/preflight", R"({"vm":"u1","source":"hv-a","destination":"hv-c"})"));
  EXPECT_TRUE(ok["compatible"].GetBool()) << net::to_string(ok);
  EXPECT_EQ(ok["realtime_offset_ns"].GetInt64(), 5000);
  EXPECT_GE(ok["uncertainty_ns"].GetInt64(), 500);
  EXPECT_LE(ok["uncertainty_ns"].GetInt64(), 500 + kAgingSlackNs);
  EXPECT_EQ(ok["reasons"].Size(), 0u);

  auto unknown = reader("POST", "/api/v1/preflight", R"({"vm":"web1","source":"hv-a","destination":"zz"})");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_NE(unknown.body.find("\"field\":\"destination\""), std::string::npos);
  auto missing = reader("POST", "/api/v1/preflight", R"({"vm":"web1","source":"hv-a"})");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_NE(missing.body.find("\"field\":\"destination\""), std::string::npos);
}

}  // namespace
}  // namespace migclock::controller::testing
