// The migration state machine, snapshots, listing, watching, restore
// inputs and phase timeouts — over TLS with a real journal.
#include <thread>

#include "fixture.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::controller::testing {
namespace {

// An event's host must be registered (and be the reporting agent's own).
struct Migrations : ControllerFixture {
  void SetUp() override {
    ControllerFixture::SetUp();
    for (const char* h : {"hv-a", "hv-b", "hv-c"}) register_host(h);
  }
};
namespace ser = migclock::serialization;

// As reported by the source, hv-a (agent_token's host).
std::string event(const std::string& phase, const std::string& extra = "", const std::string& host = "hv-a") {
  return R"({"phase":")" + phase + R"(","host":")" + host + R"(","at_ns":123)" + extra + "}";
}

TEST_F(Migrations, AnnounceIsIdempotentPerVmAndPhasesMoveForwardOnly) {
  auto r1 = agent("POST", "/api/v1/migrations", R"({"vm_uuid":"u1","vm_name":"web1","source":"hv-a","kind":"live"})");
  ASSERT_EQ(r1.status, 201u) << r1.body;
  std::string id = json(r1)["id"].GetString();
  // The destination announces too (and knows the destination): same migration.
  auto r2 = agent("POST", "/api/v1/migrations", R"({"vm_uuid":"u1","vm_name":"web1","source":"hv-a","destination":"hv-b"})");
  EXPECT_EQ(r2.status, 200u);
  EXPECT_EQ(json(r2)["id"].GetString(), id);
  EXPECT_STREQ(json(r2)["destination"].GetString(), "hv-b");

  std::string base = "/api/v1/migrations/" + id + "/events";
  EXPECT_EQ(agent("POST", base, event("shipped")).status, 200u);  // forward skip
  auto dup = agent("POST", base, event("shipped"));               // retry: no change
  EXPECT_EQ(dup.status, 200u);
  auto back = agent("POST", base, event("source-captured"));
  EXPECT_EQ(back.status, 409u);
  EXPECT_NE(back.body.find("out of order"), std::string::npos);
  EXPECT_EQ(agent("POST", base, event("resumed", R"(,"results":{"downtime_ns":4200000})")).status, 200u);
  EXPECT_EQ(agent("POST", base, event("synced", R"(,"results":{"guest_offset_before_ns":-900,"guest_offset_after_ns":12})")).status, 200u);
  EXPECT_EQ(agent("POST", base, event("synced", R"(,"results":{"guest_offset_after_ns":12})")).status, 200u);
  auto v = agent("POST", base, event("verified", R"(,"results":{"verification":{"ok":true}})"));
  ASSERT_EQ(v.status, 200u);
  auto m = json(v);
  EXPECT_STREQ(m["phase"].GetString(), "verified");
  EXPECT_TRUE(m["terminal"].GetBool());
  // announced, shipped, resumed, synced, verified: the repeats added nothing.
  ASSERT_EQ(m["history"].Size(), 5u);
  EXPECT_EQ(m["results"]["downtime_ns"].GetInt64(), 4'200'000);
  EXPECT_EQ(m["results"]["guest_offset_before_ns"].GetInt64(), -900);
  EXPECT_TRUE(m["results"]["verification"]["ok"].GetBool());
  // After the end: the same phase is fine, anything else is 409.
  EXPECT_EQ(agent("POST", base, event("verified")).status, 200u);
  EXPECT_EQ(agent("POST", base, event("failed", R"(,"reason":"late")")).status, 409u);
  // A new announcement for the VM now opens a new migration.
  auto r3 = agent_of("hv-b", "POST", "/api/v1/migrations", R"({"vm_uuid":"u1","source":"hv-b"})");
  EXPECT_EQ(r3.status, 201u);
  EXPECT_NE(json(r3)["id"].GetString(), id);
}

TEST_F(Migrations, BadEventsNameTheField) {
  std::string id = announce("u2");
  std::string base = "/api/v1/migrations/" + id + "/events";
  auto unknown = agent("POST", base, event("teleported"));
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_NE(unknown.body.find("\"field\":\"phase\""), std::string::npos) << unknown.body;
  auto no_reason = agent("POST", base, event("failed"));
  EXPECT_EQ(no_reason.status, 400u);
  EXPECT_NE(no_reason.body.find("\"field\":\"reason\""), std::string::npos);
  auto bad_result = agent("POST", base, event("shipped", R"(,"results":{"downtime_ns":"slow"})"));
  EXPECT_EQ(bad_result.status, 400u);
  EXPECT_NE(bad_result.body.find("\"field\":\"results.downtime_ns\""), std::string::npos) << bad_result.body;
  auto wrong_type = agent("POST", base, R"({"phase":"shipped","host":"hv-b","at_ns":"yesterday"})");
  EXPECT_NE(wrong_type.body.find("\"field\":\"at_ns\""), std::string::npos);
  EXPECT_EQ(agent("POST", "/api/v1/migrations/m-nope/events", event("shipped")).status, 404u);
  auto bad_kind = agent("POST", "/api/v1/migrations", R"({"vm_uuid":"u3","source":"hv-a","kind":"teleport"})");
  EXPECT_NE(bad_kind.body.find("\"field\":\"kind\""), std::string::npos);
  auto bad_host = agent("POST", "/api/v1/migrations", R"({"vm_uuid":"u3","source":"hv a/../"})");
  EXPECT_NE(bad_host.body.find("\"field\":\"source\""), std::string::npos);
  // Nothing of the refused events changed the migration.
  auto m = json(reader("GET", "/api/v1/migrations/" + id));
  EXPECT_STREQ(m["phase"].GetString(), "announced");
  EXPECT_EQ(m["version"].GetInt64(), 1);
}

TEST_F(Migrations, SnapshotUploadValidatesConvertsAndIsIdempotent) {
  register_host("hv-a");
  register_host("hv-b");
  std::string id = announce("u4");
  auto snap = ser::testing::sample_snapshot(2);
  snap.vm.uuid = "u4";
  std::string envelope = ser::encode(snap, ser::Format::binary).value();
  auto c = client(agent_token);
  std::string target = "/api/v1/migrations/" + id + "/snapshot";
  auto up = c.request("PUT", target, envelope, "application/vnd.migclock.snapshot").value();
  ASSERT_EQ(up.status, 200u) << up.body;
  EXPECT_STREQ(json(up)["phase"].GetString(), "source-captured");
  EXPECT_EQ(json(up)["snapshot"]["bytes"].GetInt64(), static_cast<int64_t>(envelope.size()));
  // Same bytes: fine. Different snapshot: 409.
  EXPECT_EQ(c.request("PUT", target, envelope, "application/vnd.migclock.snapshot")->status, 200u);
  auto other = snap;
  other.vcpus[0].tsc_khz += 1;
  auto conflict = c.request("PUT", target, ser::encode(other, ser::Format::binary).value(), "application/vnd.migclock.snapshot");
  EXPECT_EQ(conflict->status, 409u);
  // Download in both forms; they decode to the uploaded snapshot.
  auto as_env = c.request("GET", target, "", "", {{"Accept", "application/vnd.migclock.snapshot"}}).value();
  ASSERT_EQ(as_env.status, 200u);
  EXPECT_EQ(as_env.body, envelope);
  auto as_json = c.request("GET", target, "", "", {{"Accept", "application/json"}}).value();
  ASSERT_EQ(as_json.status, 200u);
  EXPECT_EQ(as_json.content_type, "application/json");
  auto decoded = ser::decode(as_json.body, ser::Format::json);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(ser::testing::first_difference(*decoded, snap), "");
  EXPECT_EQ(c.request("GET", target, "", "", {{"Accept", "text/html"}})->status, 406u);

  // Restore inputs for the destination: snapshot JSON + B − A.
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":300,"uncertainty_ns":10,"measured_at_ns":1})");
  agent_of("hv-b", "POST", "/api/v1/hosts/hv-b/clock-offset", R"({"offset_ns":-700,"uncertainty_ns":20,"measured_at_ns":1})");
  auto ri = agent_of("hv-b", "GET", "/api/v1/migrations/" + id + "/restore-inputs?destination=hv-b");
  ASSERT_EQ(ri.status, 200u) << ri.body;
  auto rid = json(ri);
  EXPECT_EQ(rid["realtime_offset_ns"].GetInt64(), 1000);
  EXPECT_GE(rid["uncertainty_ns"].GetInt64(), 30);  // plus aging: offset_estimate_test
  EXPECT_LE(rid["uncertainty_ns"].GetInt64(), 30 + kAgingSlackNs);
  EXPECT_TRUE(rid["snapshot"].IsObject());
  EXPECT_EQ(agent("GET", "/api/v1/migrations/" + id + "/restore-inputs").status, 400u);
}

// restore-inputs is for the migration's destination only: another host is
// refused naming "destination"; with none recorded, the first to ask
// becomes it (journaled). Missing offsets name the end that lacks one.
TEST_F(Migrations, RestoreInputsOnlyForTheDestination) {
  register_host("hv-a");
  register_host("hv-b");
  register_host("hv-c");
  auto c = client(agent_token);
  auto upload = [&](const std::string& id, const std::string& vm) {
    auto up = c.request("PUT", "/api/v1/migrations/" + id + "/snapshot", snapshot_of(vm),
                        "application/vnd.migclock.snapshot");
    ASSERT_EQ(up->status, 200u) << up->body;
  };
  std::string to_b = announce("r1", "hv-a", "hv-b");
  upload(to_b, "r1");
  auto no_offsets = agent_of("hv-b", "GET", "/api/v1/migrations/" + to_b + "/restore-inputs?destination=hv-b");
  EXPECT_EQ(no_offsets.status, 409u);
  EXPECT_NE(no_offsets.body.find("\"field\":\"source\""), std::string::npos) << no_offsets.body;
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":300,"uncertainty_ns":10,"measured_at_ns":1})");
  auto no_dest_offset = agent_of("hv-b", "GET", "/api/v1/migrations/" + to_b + "/restore-inputs?destination=hv-b");
  EXPECT_EQ(no_dest_offset.status, 409u);
  EXPECT_NE(no_dest_offset.body.find("\"field\":\"destination\""), std::string::npos) << no_dest_offset.body;
  agent_of("hv-b", "POST", "/api/v1/hosts/hv-b/clock-offset", R"({"offset_ns":-700,"uncertainty_ns":20,"measured_at_ns":1})");
  agent_of("hv-c", "POST", "/api/v1/hosts/hv-c/clock-offset", R"({"offset_ns":0,"uncertainty_ns":20,"measured_at_ns":1})");

  auto wrong = agent_of("hv-c", "GET", "/api/v1/migrations/" + to_b + "/restore-inputs?destination=hv-c");
  EXPECT_EQ(wrong.status, 409u);
  EXPECT_NE(wrong.body.find("\"field\":\"destination\""), std::string::npos) << wrong.body;
  auto right = agent_of("hv-b", "GET", "/api/v1/migrations/" + to_b + "/restore-inputs?destination=hv-b");
  ASSERT_EQ(right.status, 200u) << right.body;
  auto d = json(right);
  for (const char* k : {"migration_id", "source", "destination", "snapshot", "realtime_offset_ns", "uncertainty_ns",
                        "measured_at_ns"})
    EXPECT_TRUE(d.HasMember(k)) << k;
  EXPECT_EQ(d.MemberCount(), 7u) << right.body;

  // No destination recorded: the asker becomes it, durably.
  auto r = agent("POST", "/api/v1/migrations", R"({"vm_uuid":"r2","vm_name":"n","source":"hv-a"})");
  std::string open = json(r)["id"].GetString();
  upload(open, "r2");
  auto first = agent_of("hv-c", "GET", "/api/v1/migrations/" + open + "/restore-inputs?destination=hv-c");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_STREQ(json(first)["destination"].GetString(), "hv-c");
  stop();
  start();
  EXPECT_STREQ(json(reader("GET", "/api/v1/migrations/" + open))["destination"].GetString(), "hv-c");
  auto second = agent_of("hv-b", "GET", "/api/v1/migrations/" + open + "/restore-inputs?destination=hv-b");
  EXPECT_EQ(second.status, 409u) << second.body;
  EXPECT_EQ(agent_of("hv-c", "GET", "/api/v1/migrations/" + open + "/restore-inputs?destination=hv-c").status, 200u);
}

// migclock_migration_outcomes_total counts migrations that ended, once each:
// repeating the terminal phase (with new results) is not another outcome.
TEST_F(Migrations, OutcomeIsCountedOnlyOnTheTransitionIntoTheEnd) {
  std::string id = announce("o1");
  std::string base = "/api/v1/migrations/" + id + "/events";
  ASSERT_EQ(agent("POST", base, event("verified", R"(,"results":{"downtime_ns":1})")).status, 200u);
  ASSERT_EQ(agent("POST", base, event("verified", R"(,"results":{"downtime_ns":2})")).status, 200u);
  ASSERT_EQ(agent("POST", base, event("verified", R"(,"results":{"sync_rtt_ns":3})")).status, 200u);
  auto m = reader("GET", "/metrics");
  EXPECT_NE(m.body.find("migclock_migration_outcomes_total{outcome=\"verified\"} 1\n"), std::string::npos) << m.body;
  EXPECT_EQ(json(reader("GET", "/api/v1/migrations/" + id))["results"]["sync_rtt_ns"].GetInt(), 3);
}

TEST_F(Migrations, MalformedOrInvalidSnapshotsAreRefusedNamingTheProblem) {
  std::string id = announce("u5");
  auto c = client(agent_token);
  std::string target = "/api/v1/migrations/" + id + "/snapshot";
  auto garbage = c.request("PUT", target, "MCSNAPxxxxxxxxxxxxxxxxxxxxxxxxx", "application/vnd.migclock.snapshot").value();
  EXPECT_EQ(garbage.status, 400u);
  EXPECT_NE(garbage.body.find("does not decode"), std::string::npos) << garbage.body;
  auto snap = ser::testing::sample_snapshot(1);
  snap.vcpus[0].tsc_khz = 0;  // breaks validation
  auto invalid = c.request("PUT", target, ser::encode(snap, ser::Format::json).value(), "application/json").value();
  EXPECT_EQ(invalid.status, 400u);
  EXPECT_NE(invalid.body.find("tsc_khz"), std::string::npos) << invalid.body;
  EXPECT_NE(invalid.body.find("\"field\":\"snapshot."), std::string::npos) << invalid.body;
  EXPECT_EQ(c.request("PUT", target, "{}", "text/plain")->status, 415u);
  EXPECT_STREQ(json(reader("GET", "/api/v1/migrations/" + id))["phase"].GetString(), "announced");
  EXPECT_EQ(reader("GET", target).status, 404u);
}

TEST_F(Migrations, ListFiltersAndPages) {
  for (int i = 0; i < 7; ++i) announce("vm" + std::to_string(i), i % 2 ? "hv-a" : "hv-c", "hv-b");
  std::string first = json(reader("GET", "/api/v1/migrations?vm=vm0"))["items"][0]["id"].GetString();
  agent_of("hv-c", "POST", "/api/v1/migrations/" + first + "/events", event("failed", R"(,"reason":"x")", "hv-c"));
  auto all = json(reader("GET", "/api/v1/migrations?limit=3"));
  EXPECT_EQ(all["total"].GetInt(), 7);
  EXPECT_EQ(all["items"].Size(), 3u);
  EXPECT_EQ(all["next_offset"].GetInt(), 3);
  EXPECT_STREQ(all["items"][0]["vm_uuid"].GetString(), "vm6");  // newest first
  auto last = json(reader("GET", "/api/v1/migrations?limit=3&offset=6"));
  EXPECT_EQ(last["items"].Size(), 1u);
  EXPECT_TRUE(last["next_offset"].IsNull());
  EXPECT_EQ(json(reader("GET", "/api/v1/migrations?host=hv-a"))["total"].GetInt(), 3);
  EXPECT_EQ(json(reader("GET", "/api/v1/migrations?active=true"))["total"].GetInt(), 6);
  EXPECT_EQ(json(reader("GET", "/api/v1/migrations?phase=failed"))["total"].GetInt(), 1);
  EXPECT_EQ(json(agent("GET", "/api/v1/migrations?vm=vm3&active=true"))["total"].GetInt(), 1);
  EXPECT_EQ(reader("GET", "/api/v1/migrations?phase=nope").status, 400u);
  EXPECT_EQ(reader("GET", "/api/v1/migrations?limit=0").status, 400u);
  EXPECT_EQ(reader("GET", "/api/v1/migrations?limit=abc").status, 400u);
  EXPECT_EQ(reader("GET", "/api/v1/migrations?active=maybe").status, 400u);
}

TEST_F(Migrations, WatchReturnsOnChangeOrAfterWait) {
  std::string id = announce("u6");
  auto m = json(reader("GET", "/api/v1/migrations/" + id));
  int64_t v = m["version"].GetInt64();
  net::Response watched;
  auto t0 = std::chrono::steady_clock::now();
  std::thread watcher([&] {
    auto c = client(read_token);
    c.set_timeout(std::chrono::seconds(30));
    watched = c.get("/api/v1/migrations/" + id + "?wait_s=20&since_version=" + std::to_string(v)).value();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  agent("POST", "/api/v1/migrations/" + id + "/events", event("shipped"));
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_STREQ(json(watched)["phase"].GetString(), "shipped");
  auto t1 = std::chrono::steady_clock::now();
  auto idle = reader("GET", "/api/v1/migrations/" + id + "?wait_s=1&since_version=" + std::to_string(v + 1));
  EXPECT_GE(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(900));
  EXPECT_EQ(json(idle)["version"].GetInt64(), v + 1);
}

TEST_F(Migrations, PhaseTimeoutDegradesWithReasonAndResumesAfterRestart) {
  stop();
  start(/*phase_timeout_s=*/2);
  std::string id = announce("u7");
  agent("POST", "/api/v1/migrations/" + id + "/events", event("shipped"));
  // Restart before the timeout: the countdown continues from the journaled
  // last change, it does not start over.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  stop();
  start(2);
  EXPECT_STREQ(json(reader("GET", "/api/v1/migrations/" + id))["phase"].GetString(), "shipped");
  auto t0 = std::chrono::steady_clock::now();
  auto c = client(read_token);
  c.set_timeout(std::chrono::seconds(30));
  auto m = json(c.get("/api/v1/migrations/" + id + "?wait_s=10&since_version=2").value());
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_STREQ(m["phase"].GetString(), "degraded");
  EXPECT_NE(std::string(m["reason"].GetString()).find("timed out in phase shipped"), std::string::npos) << m["reason"].GetString();
  EXPECT_LT(waited, std::chrono::milliseconds(1800)) << "timeout restarted instead of resuming";
  // Durable: still degraded after another restart.
  stop();
  start(2);
  EXPECT_STREQ(json(reader("GET", "/api/v1/migrations/" + id))["phase"].GetString(), "degraded");
}

}  // namespace
}  // namespace migclock::controller::testing
