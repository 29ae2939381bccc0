// kill -9 of the real migclock-controller in the middle of a stream of
// every kind of record: agents heartbeat with their facts and VMs, report
// clock offsets, take and answer sync commands, announce migrations, PUT
// their snapshots (binary envelope) and report phases; an operator queues
// syncs. After a restart on the same data dir every acknowledged record is
// there as acknowledged (snapshots byte for byte), and every in-flight
// migration resumes its timeout from its last journaled change and ends
// degraded with the reason.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "fixture.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "process.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::controller::testing {
namespace {

namespace ser = migclock::serialization;
using migclock::testing::dev_certs;

constexpr int kHosts = 3;
constexpr uint32_t kBaseKhz = 2'000'000;  // heartbeat k reports tsc_khz = kBaseKhz + k
constexpr int64_t kRestartTimeoutS = 4;
constexpr int64_t kSecond = 1'000'000'000;
const char* const kAfterSnapshot[] = {"shipped", "resumed", "synced", "verified"};

int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name(int h) { return "hv-" + std::to_string(h); }

std::string host_body(const std::string& name, int k) {
  return R"({"hostname":")" + name + R"(","boot_id":"boot-)" + name + R"(","agent_version":"0.1.0","tsc_khz":)" +
         std::to_string(kBaseKhz + k) +
         R"(,"scaling_supported":false,"clocksource":"tsc","offset_honoured":"yes","masterclock_possible":true,)"
         R"("invtsc":"yes","vms":[{"uuid":")" + name + R"(-u1","name":")" + name + R"(-web","state":"running"},)"
         R"({"uuid":")" + name + R"(-u2","name":")" + name + R"(-db","state":"paused"}]})";
}

// Offset report k (1-based) of a host: every field derived from k.
int64_t offset_uncertainty(int64_t k) { return 100 + k; }
int64_t offset_measured_at(int64_t k) { return 1'700'000'000'000'000'000 + k; }
std::string offset_body(int64_t k) {
  return "{\"offset_ns\":" + std::to_string(k) + ",\"uncertainty_ns\":" + std::to_string(offset_uncertainty(k)) +
         ",\"rtt_ns\":" + std::to_string(2 * offset_uncertainty(k)) + ",\"samples\":8,\"measured_at_ns\":" +
         std::to_string(offset_measured_at(k)) + "}";
}

// What the controller acknowledged (answered 2xx), and what was sent and
// not answered (at the kill: it may or may not have been committed).
struct HostLedger {
  int heartbeats_acked = 0, heartbeats_sent = 0;
  int offsets_acked = 0, offsets_sent = 0;
};
struct MigrationLedger {
  std::vector<std::string> acked;  // phases, in order
  std::string unanswered;          // the phase sent last without an answer
  std::string envelope;            // the acknowledged snapshot's bytes
};
enum CommandRank { kQueued = 0, kDelivered = 1, kFinished = 2 };
struct CommandLedger {
  std::string host;
  int acked = kQueued;
  bool result_sent = false, ok = false;
  std::string message;
};

struct Ledger {
  std::mutex mu;
  HostLedger hosts[kHosts];
  std::map<std::string, MigrationLedger> migrations;
  std::map<std::string, CommandLedger> commands;
  std::atomic<int> acks{0}, snapshots{0}, syncs{0}, results{0};

  void command(const std::string& id, const std::string& host, int rank) {
    std::lock_guard<std::mutex> l(mu);
    auto& c = commands[id];
    c.host = host;
    c.acked = std::max(c.acked, rank);
  }
};

bool status_is(const Result<net::Response>& r, unsigned status) { return r.ok() && r->status == status; }

net::Client stream_client(const std::string& url, const std::string& token) {
  net::ClientOptions o(url, dev_certs().ca, token);
  o.timeout = std::chrono::seconds(2);
  return net::Client(o);
}

// One agent: per round a heartbeat, an offset, its commands answered and a
// migration taken part of the way (some stop in flight). Returns when the
// controller stops answering.
void agent_stream(const std::string& url, const std::string& token, int h, Ledger& L, const std::atomic<bool>& stop) {
  auto c = stream_client(url, token);
  const std::string name = host_name(h), base = "/api/v1/hosts/" + name;
  HostLedger& hl = L.hosts[h];
  for (int i = 0; !stop; ++i) {
    ++hl.heartbeats_sent;
    if (!status_is(c.put(base, host_body(name, hl.heartbeats_sent)), 200)) return;
    hl.heartbeats_acked = hl.heartbeats_sent;
    ++L.acks;

    ++hl.offsets_sent;
    if (!status_is(c.post(base + "/clock-offset", offset_body(hl.offsets_sent)), 204)) return;
    hl.offsets_acked = hl.offsets_sent;
    ++L.acks;

    auto polled = c.get(base + "/commands?wait_s=0");
    if (!status_is(polled, 200)) return;
    auto cmds = net::parse_any(polled->body);
    if (!cmds || !cmds->IsArray()) return;
    for (const auto& cmd : cmds->GetArray()) {
      std::string id = cmd["id"].GetString();
      bool ok = id.back() % 2 == 0;  // some done, some failed
      std::string message = "result of " + id;
      L.command(id, name, kDelivered);
      {
        std::lock_guard<std::mutex> l(L.mu);
        auto& cl = L.commands[id];
        cl.result_sent = true;
        cl.ok = ok;
        cl.message = message;
      }
      std::string body = std::string("{\"ok\":") + (ok ? "true" : "false") + ",\"message\":\"" + message + "\"}";
      if (!status_is(c.post(base + "/commands/" + id + "/result", body), 204)) return;
      L.command(id, name, kFinished);
      ++L.results;
      ++L.acks;
    }

    std::string vm = name + "-m" + std::to_string(i);
    auto a = c.post("/api/v1/migrations",
                    R"({"vm_uuid":")" + vm + R"(","source":")" + name + R"(","destination":"hv-dest"})");
    if (!status_is(a, 201)) return;
    auto doc = net::parse_object(a->body);
    if (!doc || !(*doc)["id"].IsString()) return;
    std::string mid = (*doc)["id"].GetString();
    auto record = [&](auto f) {
      std::lock_guard<std::mutex> l(L.mu);
      f(L.migrations[mid]);
    };
    record([](MigrationLedger& m) { m.acked.push_back("announced"); });
    ++L.acks;
    int stage = i % 4;  // 0: announced, 1: source-captured, 2: resumed (in flight), 3: verified
    if (stage == 0) continue;
    auto snap = ser::testing::sample_snapshot(4);
    snap.vm.uuid = vm;  // the migration's VM
    snap.clock.clock_ns += h * 1'000'000 + i;  // distinct bytes per migration
    std::string envelope = ser::encode(snap, ser::Format::binary).value();
    record([](MigrationLedger& m) { m.unanswered = "source-captured"; });
    if (!status_is(c.request("PUT", "/api/v1/migrations/" + mid + "/snapshot", envelope,
                             "application/vnd.migclock.snapshot"),
                   200))
      return;
    record([&](MigrationLedger& m) {
      m.acked.push_back("source-captured");
      m.unanswered.clear();
      m.envelope = envelope;
    });
    ++L.snapshots;
    ++L.acks;
    for (int p = 0; stage >= 2 && p < (stage == 2 ? 2 : 4); ++p) {
      record([&](MigrationLedger& m) { m.unanswered = kAfterSnapshot[p]; });
      if (!status_is(c.post("/api/v1/migrations/" + mid + "/events",
                            std::string(R"({"phase":")") + kAfterSnapshot[p] + R"(","host":")" + name + R"(","at_ns":1})"),
                     200))
        return;
      record([&](MigrationLedger& m) {
        m.acked.push_back(kAfterSnapshot[p]);
        m.unanswered.clear();
      });
      ++L.acks;
    }
  }
}

// The operator: syncs of the agents' VMs, round robin.
void operator_stream(const std::string& url, const std::string& token, Ledger& L, const std::atomic<bool>& stop) {
  auto c = stream_client(url, token);
  for (int i = 0; !stop; ++i) {
    std::string name = host_name(i % kHosts), vm = name + (i % 2 ? "-u1" : "-db");
    auto r = c.post("/api/v1/vms/" + vm + "/sync", "{}");
    if (!r) return;
    if (r->status == 404 || r->status == 409) {  // not reported yet
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (r->status != 202) return;
    auto doc = net::parse_object(r->body);
    if (!doc) return;
    L.command((*doc)["id"].GetString(), name, kQueued);
    ++L.syncs;
    ++L.acks;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

rapidjson::Document get_object(net::Client& c, const std::string& target, unsigned want = 200) {
  auto r = c.get(target);
  EXPECT_TRUE(r.ok()) << target << ": " << (r.ok() ? "" : r.error().message());
  if (!r.ok()) return rapidjson::Document{};
  EXPECT_EQ(r->status, want) << target << ": " << r->body.substr(0, 300);
  auto d = net::parse_object(r->body, 64);
  return d ? std::move(d).value() : rapidjson::Document{};
}

void check_host(net::Client& reader, const std::string& name, const HostLedger& hl) {
  SCOPED_TRACE(name);
  auto d = get_object(reader, "/api/v1/hosts/" + name);
  ASSERT_TRUE(d.IsObject() && d["host"].IsObject()) << "acknowledged host lost";
  const auto& host = d["host"];
  // The last acknowledged heartbeat, or the unanswered one after it.
  int k = static_cast<int>(host["tsc_khz"].GetUint()) - static_cast<int>(kBaseKhz);
  EXPECT_GE(k, hl.heartbeats_acked);
  EXPECT_LE(k, hl.heartbeats_sent);
  EXPECT_STREQ(host["boot_id"].GetString(), ("boot-" + name).c_str());
  EXPECT_STREQ(host["agent_version"].GetString(), "0.1.0");
  EXPECT_STREQ(host["clocksource"].GetString(), "tsc");
  EXPECT_STREQ(host["offset_honoured"].GetString(), "yes");
  EXPECT_STREQ(host["invtsc"].GetString(), "yes");
  EXPECT_TRUE(host["masterclock_possible"].GetBool());
  EXPECT_FALSE(host["scaling_supported"].GetBool());
  EXPECT_LE(host["registered_ns"].GetInt64(), host["last_seen_ns"].GetInt64());

  ASSERT_TRUE(host["clock_offset"].IsObject()) << "acknowledged offsets lost";
  int64_t last = host["clock_offset"]["offset_ns"].GetInt64();
  EXPECT_GE(last, hl.offsets_acked);
  EXPECT_LE(last, hl.offsets_sent);
  // The history: the newest min(64, last) reports, contiguous, oldest first,
  // each as reported.
  auto hist = get_object(reader, "/api/v1/hosts/" + name + "/clock-offset");
  ASSERT_TRUE(hist["items"].IsArray());
  const auto& items = hist["items"];
  ASSERT_EQ(items.Size(), static_cast<rapidjson::SizeType>(std::min<int64_t>(64, last)));
  for (rapidjson::SizeType j = 0; j < items.Size(); ++j) {
    int64_t want = last - items.Size() + 1 + j;
    ASSERT_EQ(items[j]["offset_ns"].GetInt64(), want) << "offset history has a hole";
    EXPECT_EQ(items[j]["uncertainty_ns"].GetInt64(), offset_uncertainty(want));
    EXPECT_EQ(items[j]["rtt_ns"].GetInt64(), 2 * offset_uncertainty(want));
    EXPECT_EQ(items[j]["samples"].GetInt64(), 8);
    EXPECT_EQ(items[j]["measured_at_ns"].GetInt64(), offset_measured_at(want));
  }

  auto vms = get_object(reader, "/api/v1/vms?host=" + name);
  ASSERT_TRUE(vms["items"].IsArray());
  std::map<std::string, std::pair<std::string, std::string>> got;
  for (const auto& v : vms["items"].GetArray()) got[v["uuid"].GetString()] = {v["name"].GetString(), v["state"].GetString()};
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got[name + "-u1"], std::make_pair(name + "-web", std::string("running")));
  EXPECT_EQ(got[name + "-u2"], std::make_pair(name + "-db", std::string("paused")));
}

void check_command(net::Client& reader, const std::string& id, const CommandLedger& cl) {
  SCOPED_TRACE(id);
  auto d = get_object(reader, "/api/v1/commands/" + id);
  ASSERT_TRUE(d.IsObject() && d["state"].IsString()) << "acknowledged command lost";
  std::string state = d["state"].GetString();
  EXPECT_STREQ(d["host"].GetString(), cl.host.c_str());
  EXPECT_STREQ(d["kind"].GetString(), "sync");
  const std::map<std::string, int> rank = {{"queued", kQueued}, {"delivered", kDelivered}, {"done", kFinished},
                                           {"failed", kFinished}};
  ASSERT_TRUE(rank.count(state)) << state;
  EXPECT_GE(rank.at(state), cl.acked) << "state " << state << " is behind the acknowledged one";
  if (rank.at(state) == kFinished) {
    ASSERT_TRUE(cl.result_sent) << "finished without a result";
    EXPECT_EQ(state, cl.ok ? "done" : "failed");
    EXPECT_STREQ(d["message"].GetString(), cl.message.c_str());
    EXPECT_GT(d["delivered_ns"].GetInt64(), 0);
    EXPECT_GE(d["finished_ns"].GetInt64(), d["delivered_ns"].GetInt64());
  }
}

void check_snapshot(net::Client& agent, const std::string& id, const rapidjson::Value& info, const std::string& envelope) {
  ASSERT_TRUE(info.IsObject()) << "acknowledged snapshot lost";
  EXPECT_STREQ(info["sha256"].GetString(), sha256_hex(envelope).c_str());
  EXPECT_EQ(info["bytes"].GetInt64(), static_cast<int64_t>(envelope.size()));
  EXPECT_STREQ(info["format"].GetString(), "binary");
  for (const char* accept : {"application/vnd.migclock.snapshot", "*/*"}) {
    auto got = agent.request("GET", "/api/v1/migrations/" + id + "/snapshot", "", "", {{"Accept", accept}});
    ASSERT_TRUE(got.ok()) << got.error().message();
    ASSERT_EQ(got->status, 200u) << got->body;
    EXPECT_EQ(sha256_hex(got->body), sha256_hex(envelope)) << "Accept " << accept;
    EXPECT_TRUE(got->body == envelope) << "Accept " << accept;
  }
}

// The history is the acknowledged phases, then perhaps the unanswered one,
// then perhaps the timeout's degraded; the acknowledged snapshot is there
// byte for byte. Returns the history.
std::vector<std::string> check_migration(net::Client& agent, const std::string& id, const MigrationLedger& ml) {
  SCOPED_TRACE(id);
  auto d = get_object(agent, "/api/v1/migrations/" + id);
  if (!d.IsObject() || !d["history"].IsArray()) {
    ADD_FAILURE() << "acknowledged migration lost";
    return {};
  }
  std::vector<std::string> history;
  for (const auto& e : d["history"].GetArray()) history.emplace_back(e["phase"].GetString());
  std::vector<std::string> want = ml.acked;
  if (history.size() > want.size() && !ml.unanswered.empty() && history[want.size()] == ml.unanswered)
    want.push_back(ml.unanswered);
  if (history.size() > want.size() && history.back() == "degraded") want.push_back("degraded");
  EXPECT_EQ(history, want) << "acknowledged: " << ml.acked.size() << " phases, unanswered '" << ml.unanswered << "'";
  if (!ml.envelope.empty()) check_snapshot(agent, id, d["snapshot"], ml.envelope);
  return history;
}

TEST(CrashTest, KillDashNineMidStreamOfEveryRecordKindLosesNoAcknowledgedRecord) {
  std::string dir = migclock::testing::make_temp_dir("migclock-crash-all");
  // One agent token per host (bound to it); the first one also reads.
  std::vector<std::string> host_tokens;
  for (int h = 0; h < kHosts; ++h) host_tokens.push_back(create_token(dir, Scope::agent, "crash", host_name(h)).value());
  const std::string agent_token = host_tokens[0];
  std::string write_token = create_token(dir, Scope::write, "crash").value();
  std::string read_token = create_token(dir, Scope::read, "crash").value();
  auto child = std::make_unique<Child>(controller_argv(dir, "600"));
  unsigned short port = child->wait_port();
  ASSERT_NE(port, 0) << "controller did not start";
  std::string url = "https://127.0.0.1:" + std::to_string(port);

  Ledger L;
  std::atomic<bool> stop{false};
  std::vector<std::thread> streams;
  for (int h = 0; h < kHosts; ++h) streams.emplace_back([&, h] { agent_stream(url, host_tokens[h], h, L, stop); });
  streams.emplace_back([&] { operator_stream(url, write_token, L, stop); });
  auto enough = [&] { return L.acks >= 1500 && L.snapshots >= 60 && L.syncs >= 30 && L.results >= 30; };
  auto t0 = std::chrono::steady_clock::now();
  while (!enough() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int st = child->kill_and_wait(SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  stop = true;
  for (auto& s : streams) s.join();
  ASSERT_TRUE(enough()) << "stream too slow to test anything: acks " << L.acks << ", snapshots " << L.snapshots
                        << ", syncs " << L.syncs << ", results " << L.results;

  // Restart with a short phase timeout once every in-flight migration's last
  // change is older than it: resuming the countdown from the journal ends
  // them at once; a countdown started afresh would take kRestartTimeoutS.
  std::this_thread::sleep_until(killed + std::chrono::seconds(kRestartTimeoutS) + std::chrono::milliseconds(500));
  int64_t restart_ns = realtime_ns();
  auto restarted = std::make_unique<Child>(controller_argv(dir, std::to_string(kRestartTimeoutS)));
  port = restarted->wait_port();
  ASSERT_NE(port, 0) << "controller did not restart on the same data dir";
  url = "https://127.0.0.1:" + std::to_string(port);
  net::Client agent(net::ClientOptions(url, dev_certs().ca, agent_token));
  net::Client reader(net::ClientOptions(url, dev_certs().ca, read_token));

  for (int h = 0; h < kHosts; ++h) check_host(reader, host_name(h), L.hosts[h]);
  for (const auto& [id, cl] : L.commands) check_command(reader, id, cl);

  // Every in-flight migration ends degraded, timed out in the phase it had.
  auto t1 = std::chrono::steady_clock::now();
  auto active = [&] {
    auto d = get_object(reader, "/api/v1/migrations?active=true&limit=1");
    return d.IsObject() && d["total"].IsInt() ? d["total"].GetInt() : -1;
  };
  while (active() != 0 && std::chrono::steady_clock::now() - t1 < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(active(), 0) << "in-flight migrations still active 30 s after the restart";
  size_t in_flight = 0;
  for (const auto& [id, ml] : L.migrations) {
    auto history = check_migration(agent, id, ml);
    if (history.empty() || history.back() == "verified") continue;
    ++in_flight;
    SCOPED_TRACE(id);
    auto m = get_object(agent, "/api/v1/migrations/" + id);
    ASSERT_STREQ(m["phase"].GetString(), "degraded") << "in-flight migration neither resumed nor ended";
    const auto& h = m["history"];
    const auto& before = h[h.Size() - 2];
    const auto& end = h[h.Size() - 1];
    EXPECT_NE(std::string(m["reason"].GetString()).find(std::string("timed out in phase ") + before["phase"].GetString()),
              std::string::npos)
        << m["reason"].GetString();
    EXPECT_STREQ(end["host"].GetString(), "controller");
    EXPECT_GE(end["received_ns"].GetInt64() - before["received_ns"].GetInt64(), kRestartTimeoutS * kSecond)
        << "ended before its timeout";
    EXPECT_LT(end["received_ns"].GetInt64(), restart_ns + kRestartTimeoutS * kSecond)
        << "the countdown started over at the restart instead of resuming from the journaled last change";
  }
  EXPECT_GT(in_flight, 0u) << "no in-flight migration at the kill: the test proves less than it should";
  int end = restarted->kill_and_wait(SIGTERM);
  EXPECT_TRUE(WIFEXITED(end) && WEXITSTATUS(end) == 0) << "restarted controller died: status " << end;
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

}  // namespace
}  // namespace migclock::controller::testing
