// The real migclock-controller binary on real etcd: the phase-timeout
// sweeper's lease moves when its holder is killed, and a 3-member cluster
// with 2 controllers loses no acknowledged record when one controller and
// one etcd member are killed with SIGKILL mid-stream.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "etcd_cluster.hpp"
#include "fixture.hpp"
#include "net_test_support.hpp"
#include "process.hpp"

namespace migclock::controller::testing {
namespace {

using migclock::testing::dev_certs;
using Clock = std::chrono::steady_clock;

std::vector<std::string> etcd_controller_argv(const std::string& dir, const std::string& endpoints,
                                              const std::string& prefix, const std::string& phase_timeout_s) {
  auto argv = controller_argv(dir, phase_timeout_s);
  for (const char* a : {"--store", "etcd", "--etcd-endpoints"}) argv.push_back(a);
  argv.push_back(endpoints);
  argv.push_back("--etcd-prefix");
  argv.push_back(prefix);
  argv.push_back("--leader-ttl-s");
  argv.push_back("2");
  return argv;
}

struct Controllers {
  StoreOptions so;
  std::map<std::string, std::string> token;  // "read", "write", host → agent token
  std::string dir;

  void tokens() {
    token["read"] = create_token(so, Scope::read, "t").value();
    token["write"] = create_token(so, Scope::write, "t").value();
    for (const char* h : {"hv-a", "hv-b"}) token[h] = create_token(so, Scope::agent, "t", h).value();
  }
  static Result<net::Response> call(uint16_t port, const std::string& token, const std::string& method,
                                    const std::string& target, const std::string& body = {},
                                    const std::string& type = "application/json") {
    net::ClientOptions o("https://127.0.0.1:" + std::to_string(port), dev_certs().ca, token);
    o.timeout = std::chrono::seconds(15);
    net::Client c(o);
    return c.request(method, target, body, type);
  }
  void register_hosts(uint16_t port) {
    for (const char* h : {"hv-a", "hv-b"}) {
      std::string body = R"({"hostname":")" + std::string(h) +
                         R"(","boot_id":"b","agent_version":"0.1.0","tsc_khz":2899998,"scaling_supported":false,)"
                         R"("clocksource":"tsc","offset_honoured":"yes","masterclock_possible":true,"invtsc":"yes","vms":[]})";
      auto r = call(port, token[h], "PUT", "/api/v1/hosts/" + std::string(h), body);
      ASSERT_TRUE(r.ok() && r->status == 200u) << (r.ok() ? r->body : r.error().message());
    }
  }
};

TEST(EtcdSweeper, TheLeaseMovesToTheSurvivorWithinTheTtlWhenTheLeaderIsKilled) {
  std::string why;
  EtcdCluster* etcd = shared_etcd(why);
  if (!etcd) GTEST_SKIP() << why;
  Controllers c;
  c.so.kind = "etcd";
  c.so.etcd_endpoints = etcd->endpoints();
  c.so.etcd_prefix = unique_etcd_prefix();
  c.dir = migclock::testing::make_temp_dir("migclock-sweep");
  c.tokens();
  // A starts first and takes the lease; B waits for it.
  Child a(etcd_controller_argv(c.dir, c.so.etcd_endpoints, c.so.etcd_prefix, "2"));
  const uint16_t pa = a.wait_port();
  ASSERT_NE(pa, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  Child b(etcd_controller_argv(c.dir, c.so.etcd_endpoints, c.so.etcd_prefix, "2"));
  const uint16_t pb = b.wait_port();
  ASSERT_NE(pb, 0);
  c.register_hosts(pb);
  auto ann = Controllers::call(pb, c.token["hv-a"], "POST", "/api/v1/migrations",
                               R"({"vm_uuid":"vm-sweep","source":"hv-a","destination":"hv-b"})");
  ASSERT_TRUE(ann.ok() && ann->status == 201u);
  const std::string id = json(*ann)["id"].GetString();
  // The leader dies without revoking anything.
  a.kill_and_wait(SIGKILL);
  const auto t0 = Clock::now();
  // Only B can end it now: phase timeout 2 s + lease TTL 2 s + a sweep.
  std::string phase;
  while (Clock::now() - t0 < std::chrono::seconds(12)) {
    auto r = Controllers::call(pb, c.token["read"], "GET", "/api/v1/migrations/" + id + "?wait_s=2&since_version=1");
    ASSERT_TRUE(r.ok());
    phase = json(*r)["phase"].GetString();
    if (phase == "degraded") break;
  }
  EXPECT_EQ(phase, "degraded") << "nobody swept after the leader was killed";
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(8)) << "took longer than timeout + TTL + slack";
  (void)std::system(("rm -rf " + c.dir).c_str());
}

// 3 etcd members, 2 controllers, a stream of migrations (announce, snapshot,
// events) through both; kill -9 one controller and one member mid-stream.
// Every acknowledged record is then served — snapshots byte for byte — by
// the survivor and by a controller started afresh on the cluster, and the
// migrations in flight end through the survivors: those completed through
// B verified, the others degraded by the sweeper (the killed A held it).
TEST(EtcdCluster3, NoAcknowledgedRecordIsLostWhenAControllerAndAMemberAreKilled) {
  if (EtcdCluster::binary().empty()) GTEST_SKIP() << EtcdCluster::missing_message();
  EtcdCluster etcd;
  const std::string failed = etcd.start(3);
  ASSERT_EQ(failed, "");
  Controllers c;
  c.so.kind = "etcd";
  c.so.etcd_endpoints = etcd.endpoints();
  c.so.etcd_prefix = "/migclock";
  c.dir = migclock::testing::make_temp_dir("migclock-cluster");
  c.tokens();
  // Phase timeout 6 s: what nobody completes ends degraded through a survivor.
  Child a(etcd_controller_argv(c.dir, c.so.etcd_endpoints, c.so.etcd_prefix, "6"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // A holds the sweeper's lease
  Child b(etcd_controller_argv(c.dir, c.so.etcd_endpoints, c.so.etcd_prefix, "6"));
  uint16_t ports[2] = {a.wait_port(), b.wait_port()};
  ASSERT_TRUE(ports[0] && ports[1]);
  c.register_hosts(ports[1]);

  struct Acked {
    std::string phase;     // the last phase acknowledged
    std::string snapshot;  // the bytes acknowledged ("" none)
  };
  std::map<std::string, Acked> acked;  // migration id → what was acknowledged
  int refused = 0;
  const int kMigrations = 40;
  const auto t0 = Clock::now();
  for (int i = 0; i < kMigrations; ++i) {
    if (i == kMigrations / 2) {
      std::printf("cluster stream: first half %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
      a.kill_and_wait(SIGKILL);  // controller A
      etcd.kill_member(0);       // and an etcd member (the leader or not)
    }
    const bool a_alive = i < kMigrations / 2;
    const uint16_t port = (i % 2 == 0 && a_alive) ? ports[0] : ports[1];
    const std::string vm = "vm-s" + std::to_string(i);
    auto ann = Controllers::call(port, c.token["hv-a"], "POST", "/api/v1/migrations",
                                 R"({"vm_uuid":")" + vm + R"(","source":"hv-a","destination":"hv-b"})");
    if (!ann.ok() || ann->status != 201u) {
      ++refused;
      continue;
    }
    const std::string id = json(*ann)["id"].GetString();
    acked[id].phase = "announced";
    const std::string snap = ControllerFixture::snapshot_of(vm, 1 + i % 3, true);
    auto up = Controllers::call(port, c.token["hv-a"], "PUT", "/api/v1/migrations/" + id + "/snapshot", snap,
                                "application/vnd.migclock.snapshot");
    if (!up.ok() || up->status != 200u) {
      ++refused;
      continue;
    }
    acked[id].phase = "source-captured";
    acked[id].snapshot = snap;
    auto ev = Controllers::call(port, c.token["hv-a"], "POST", "/api/v1/migrations/" + id + "/events",
                                R"({"phase":"shipped","host":"hv-a","at_ns":1})");
    if (ev.ok() && ev->status == 200u) acked[id].phase = "shipped";
    else ++refused;
  }
  const auto streamed = Clock::now() - t0;
  EXPECT_GE(acked.size(), static_cast<size_t>(kMigrations * 3 / 4)) << refused << " refused";

  // A controller started afresh reads everything from the two members left.
  // In flight: complete every other one through B; the rest time out.
  std::map<std::string, std::string> end;  // id → the phase it must end in
  bool complete = true;
  for (const auto& [id, want] : acked) {
    end[id] = "degraded";
    if (!complete || want.phase != "shipped") {
      complete = !complete;
      continue;
    }
    complete = !complete;
    auto v = Controllers::call(ports[1], c.token["hv-b"], "POST", "/api/v1/migrations/" + id + "/events",
                               R"({"phase":"verified","host":"hv-b","at_ns":2})");
    ASSERT_TRUE(v.ok());
    // 409: on a slow machine it may have timed out already (degraded).
    ASSERT_TRUE(v->status == 200u || (v->status == 409u && v->body.find("already ended degraded") != std::string::npos))
        << v->status << " " << v->body;
    if (v->status == 200u) end[id] = "verified";
  }
  Child fresh(etcd_controller_argv(c.dir, c.so.etcd_endpoints, c.so.etcd_prefix, "6"));
  const uint16_t pf = fresh.wait_port();
  ASSERT_NE(pf, 0);
  for (uint16_t port : {ports[1], pf}) {
    for (const auto& [id, want] : acked) {
      auto r = Controllers::call(port, c.token["read"], "GET", "/api/v1/migrations/" + id);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->status, 200u) << id << " acknowledged, then lost (port " << port << ")";
      // The acknowledged phase is in its history, whatever came after.
      bool has = false;
      // The document outlives the loop (a temporary's array would dangle).
      const auto doc = json(*r);
      for (const auto& e : doc["history"].GetArray()) has |= want.phase == e["phase"].GetString();
      EXPECT_TRUE(has) << id << ": " << want.phase << " missing from its history";
      if (want.snapshot.empty()) continue;
      net::ClientOptions o("https://127.0.0.1:" + std::to_string(port), dev_certs().ca, c.token["read"]);
      net::Client cl(o);
      auto s = cl.request("GET", "/api/v1/migrations/" + id + "/snapshot", {}, "application/json",
                          {{"Accept", "application/vnd.migclock.snapshot"}});
      ASSERT_TRUE(s.ok());
      ASSERT_EQ(s->status, 200u) << s->body;
      EXPECT_EQ(s->body, want.snapshot) << id << ": snapshot not byte for byte";
    }
  }
  // Everything ends through the survivors: completed ones verified, the
  // others degraded by the sweeper after A (its first holder) was killed.
  const auto deadline = Clock::now() + std::chrono::seconds(25);
  for (const auto& [id, phase] : end) {
    std::string now;
    while (Clock::now() < deadline) {
      auto r = Controllers::call(pf, c.token["read"], "GET", "/api/v1/migrations/" + id);
      ASSERT_TRUE(r.ok());
      now = json(*r)["phase"].GetString();
      if (now == phase) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(now, phase) << id;
  }
  std::printf("cluster stream: %zu migrations acknowledged, %d requests refused, %.1f s\n", acked.size(), refused,
              std::chrono::duration<double>(streamed).count());
  (void)std::system(("rm -rf " + c.dir).c_str());
}

}  // namespace
}  // namespace migclock::controller::testing
