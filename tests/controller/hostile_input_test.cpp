// Issue 12: what adversarial testing broke, one test per defect, against
// the real controller over TLS (fixture.hpp). Each failed on the code
// before the fix.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <sstream>

#include "db_lock.hpp"
#include "fixture.hpp"
#include "migclock/common/text_guard.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "process.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::controller::testing {
namespace {

using HostileInput = ControllerFixture;
namespace ser = migclock::serialization;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string event(const std::string& phase, const std::string& host, const std::string& extra = {}) {
  return R"({"phase":")" + phase + R"(","host":")" + host + R"(","at_ns":1)" + extra + "}";
}

// --- 1. depth ---------------------------------------------------------------

TEST_F(HostileInput, TwoHundredThousandNestedBracketsAre400OnEveryJsonRoute) {
  register_host("hv-a");
  std::string id = announce("vm-deep");
  const std::string deep(200'000, '[');
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"PUT", "/api/v1/hosts/hv-a"}, {"POST", "/api/v1/migrations/" + id + "/events"},
           {"POST", "/api/v1/hosts/hv-a/clock-offset"}, {"POST", "/api/v1/migrations"}}) {
    auto r = agent(method, target, deep);
    EXPECT_EQ(r.status, 400u) << method << " " << target;
    EXPECT_TRUE(has(r.body, "nested deeper than 32")) << r.body;
  }
  EXPECT_EQ(reader("GET", "/healthz").status, 200u);
}

// --- 2. host binding ----------------------------------------------------------

TEST_F(HostileInput, AnAgentTokenActsForItsOwnHostOnly) {
  register_host("hv-a");
  register_host("hv-b", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  // agent_token is hv-a's: heartbeat, offsets, command poll and results of hv-b are refused.
  const std::string facts = R"({"hostname":"hv-b","tsc_khz":1,"scaling_supported":false,"offset_honoured":"yes",)"
                            R"("masterclock_possible":true,"vms":[]})";
  auto r = agent("PUT", "/api/v1/hosts/hv-b", facts);
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_TRUE(has(r.body, "acts for host 'hv-a' only")) << r.body;
  EXPECT_EQ(agent("POST", "/api/v1/hosts/hv-b/clock-offset",
                  R"({"offset_ns":5000000000,"uncertainty_ns":1,"measured_at_ns":1})").status, 403u);
  auto cmd = writer("POST", "/api/v1/vms/u1/sync");
  ASSERT_EQ(cmd.status, 202u) << cmd.body;
  const std::string cid = json(cmd)["id"].GetString();
  EXPECT_EQ(agent("GET", "/api/v1/hosts/hv-b/commands?wait_s=0").status, 403u);
  EXPECT_EQ(agent("POST", "/api/v1/hosts/hv-b/commands/" + cid + "/result", R"({"ok":true})").status, 403u);
  EXPECT_STREQ(json(reader("GET", "/api/v1/commands/" + cid))["state"].GetString(), "queued");
  // hv-b's facts and offsets are untouched; hv-b itself still may.
  EXPECT_EQ(json(reader("GET", "/api/v1/hosts/hv-b"))["host"]["tsc_khz"].GetInt64(), 2'899'998);
  EXPECT_EQ(json(reader("GET", "/api/v1/hosts/hv-b/clock-offset"))["items"].Size(), 0u);
  EXPECT_EQ(agent_of("hv-b", "GET", "/api/v1/hosts/hv-b/commands?wait_s=0").status, 200u);
}

TEST_F(HostileInput, AForgedSourceOffsetCannotShiftRestoreInputs) {
  register_host("hv-a");
  register_host("hv-b");
  for (const char* h : {"hv-a", "hv-b"})
    ASSERT_EQ(agent_of(h, "POST", std::string("/api/v1/hosts/") + h + "/clock-offset",
                       R"({"offset_ns":0,"uncertainty_ns":10,"measured_at_ns":1})").status, 204u);
  std::string id = announce("vm-off", "hv-a", "hv-b");
  auto c = client(agent_token);
  ASSERT_EQ(c.request("PUT", "/api/v1/migrations/" + id + "/snapshot", snapshot_of("vm-off"),
                      "application/vnd.migclock.snapshot")->status, 200u);
  // hv-b forges hv-a's (the source's) offset: refused.
  EXPECT_EQ(agent_of("hv-b", "POST", "/api/v1/hosts/hv-a/clock-offset",
                     R"({"offset_ns":5000000000,"uncertainty_ns":1,"measured_at_ns":2})").status, 403u);
  auto in = agent_of("hv-b", "GET", "/api/v1/migrations/" + id + "/restore-inputs?destination=hv-b");
  ASSERT_EQ(in.status, 200u) << in.body;
  EXPECT_EQ(json(in)["realtime_offset_ns"].GetInt64(), 0);
  // Nor may hv-b ask as someone else.
  EXPECT_EQ(agent_of("hv-b", "GET", "/api/v1/migrations/" + id + "/restore-inputs?destination=hv-c").status, 403u);
}

TEST_F(HostileInput, AMigrationWithoutDestinationIsNotAStrangersToClaimOrEnd) {
  register_host("hv-a");
  register_host("hv-b", 2'899'998, R"([{"uuid":"vm-x","name":"x","state":"running"}])");
  register_host("hv-c");
  std::string id = announce("vm-x", "hv-a", "");
  auto c = client(agent_token);
  ASSERT_EQ(c.request("PUT", "/api/v1/migrations/" + id + "/snapshot", snapshot_of("vm-x"),
                      "application/vnd.migclock.snapshot")->status, 200u);
  // hv-c, which does not report the VM: no claim under another name, no
  // destination-side report, no ending it.
  EXPECT_EQ(agent_of("hv-c", "GET", "/api/v1/migrations/" + id + "/restore-inputs?destination=hv-b").status, 403u);
  EXPECT_EQ(agent_of("hv-c", "POST", "/api/v1/migrations/" + id + "/events", event("synced", "hv-c")).status, 403u);
  EXPECT_EQ(agent_of("hv-c", "POST", "/api/v1/migrations/" + id + "/events", event("synced", "hv-b")).status, 403u);
  EXPECT_EQ(agent_of("hv-c", "POST", "/api/v1/migrations/" + id + "/events",
                     event("failed", "hv-c", R"(,"reason":"gotcha")")).status, 403u);
  auto m = json(reader("GET", "/api/v1/migrations/" + id));
  EXPECT_STREQ(m["phase"].GetString(), "source-captured");
  EXPECT_STREQ(m["destination"].GetString(), "");
  // hv-b reports the VM running: its destination-side report makes it the destination.
  auto synced = agent_of("hv-b", "POST", "/api/v1/migrations/" + id + "/events", event("synced", "hv-b"));
  ASSERT_EQ(synced.status, 200u) << synced.body;
  EXPECT_STREQ(json(synced)["destination"].GetString(), "hv-b");
  EXPECT_EQ(agent_of("hv-c", "POST", "/api/v1/migrations/" + id + "/events",
                     event("failed", "hv-c", R"(,"reason":"gotcha")")).status, 403u);
  EXPECT_STREQ(json(reader("GET", "/api/v1/migrations/" + id))["phase"].GetString(), "synced");
}

TEST_F(HostileInput, OnlyTheSourceUploadsAndOnlyTheEndsAnnounceOrReport) {
  register_host("hv-a");
  register_host("hv-b");
  register_host("hv-c");
  std::string id = announce("vm-s", "hv-a", "hv-b");
  auto c = client(token_for("hv-b"));
  auto up = c.request("PUT", "/api/v1/migrations/" + id + "/snapshot", snapshot_of("vm-s"),
                      "application/vnd.migclock.snapshot");
  EXPECT_EQ(up->status, 403u) << up->body;
  // Announcing for two other hosts: refused; the destination may announce.
  const std::string body = R"({"vm_uuid":"vm-t","source":"hv-a","destination":"hv-b"})";
  EXPECT_EQ(agent_of("hv-c", "POST", "/api/v1/migrations", body).status, 403u);
  EXPECT_EQ(agent_of("hv-b", "POST", "/api/v1/migrations", body).status, 201u);
  // The ends of hv-a → hv-b are theirs: hv-c cannot end it failed.
  EXPECT_EQ(agent_of("hv-c", "POST", "/api/v1/migrations/" + id + "/events",
                     event("failed", "hv-c", R"(,"reason":"x")")).status, 403u);
  EXPECT_EQ(agent_of("hv-b", "POST", "/api/v1/migrations/" + id + "/events", event("resumed", "hv-b")).status, 200u);
}

TEST_F(HostileInput, ASnapshotOfAnotherVmIs409) {
  register_host("hv-a");
  std::string id = announce("vm-m", "hv-a", "hv-b");
  auto c = client(agent_token);
  auto other = c.request("PUT", "/api/v1/migrations/" + id + "/snapshot", snapshot_of("vm-other"),
                         "application/vnd.migclock.snapshot");
  EXPECT_EQ(other->status, 409u) << other->body;
  EXPECT_TRUE(has(other->body, "\"field\":\"snapshot.vm.uuid\"")) << other->body;
  EXPECT_STREQ(json(reader("GET", "/api/v1/migrations/" + id))["phase"].GetString(), "announced");
  EXPECT_EQ(c.request("PUT", "/api/v1/migrations/" + id + "/snapshot", snapshot_of("vm-m"),
                      "application/vnd.migclock.snapshot")->status, 200u);
}

TEST_F(HostileInput, ALegacyAgentTokenBindsToItsFirstHeartbeatForGood) {
  const std::string legacy = create_token(data_dir, Scope::agent, "old").value();  // no host, as before
  const std::string off = R"({"offset_ns":1,"uncertainty_ns":1,"measured_at_ns":1})";
  auto before = as(legacy, "POST", "/api/v1/hosts/hv-l/clock-offset", off);
  EXPECT_EQ(before.status, 403u);
  EXPECT_TRUE(has(before.body, "not bound to a host yet")) << before.body;
  const auto facts = [](const std::string& h) {
    return R"({"hostname":")" + h + R"(","tsc_khz":1,"scaling_supported":false,"offset_honoured":"yes",)"
           R"("masterclock_possible":true})";
  };
  EXPECT_EQ(as(legacy, "PUT", "/api/v1/hosts/hv-l", facts("hv-l")).status, 200u);
  EXPECT_EQ(as(legacy, "POST", "/api/v1/hosts/hv-l/clock-offset", off).status, 204u);
  EXPECT_EQ(as(legacy, "PUT", "/api/v1/hosts/hv-m", facts("hv-m")).status, 403u);
  stop();
  start();  // the binding was journaled
  EXPECT_EQ(as(legacy, "PUT", "/api/v1/hosts/hv-m", facts("hv-m")).status, 403u);
  EXPECT_EQ(as(legacy, "PUT", "/api/v1/hosts/hv-l", facts("hv-l")).status, 200u);
}

TEST_F(HostileInput, TokenCreateBindsAgentTokensToAHost) {
  const std::string bin = MIGCLOCK_CONTROLLER_BIN;
  const std::string dir = " --data-dir " + data_dir;
  EXPECT_EQ(WEXITSTATUS(std::system((bin + " token create" + dir + " --scope agent 2>/dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((bin + " token create" + dir + " --scope read --host hv-a 2>/dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((bin + " token create" + dir + " --scope agent --host ../x 2>/dev/null").c_str())), 1);
  FILE* f = popen((bin + " token create" + dir + " --scope agent --host hv-z --json").c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[512] = {};
  std::string out = fgets(buf, sizeof buf, f) ? buf : "";
  EXPECT_EQ(pclose(f), 0);
  EXPECT_TRUE(has(out, "\"host\":\"hv-z\"")) << out;
}

// --- 3. UTF-8 -----------------------------------------------------------------

TEST_F(HostileInput, InvalidUtf8Is400NamingTheFieldAndAnswersStayUtf8) {
  register_host("hv-a");
  std::string id = announce("vm-u");
  const std::pair<std::string, std::string> cases[] = {
      {R"({"vm_uuid":"u8","vm_name":"gold)" "\xFF" R"(en","source":"hv-a"})", "vm_name"},
      {R"({"vm_uuid":"u8","vm_name":"h)" "\xC0\xAF" R"(","source":"hv-a"})", "vm_name"},  // overlong '/'
      {R"({"vm_uuid":"u8","vm_name":"\udc00","source":"hv-a"})", "vm_name"},               // lone surrogate
  };
  for (const auto& [body, field] : cases) {
    auto r = agent("POST", "/api/v1/migrations", body);
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_TRUE(has(r.body, "\"field\":\"" + field + "\"")) << r.body;
  }
  auto r = agent("POST", "/api/v1/migrations/" + id + "/events",
                 event("shipped", "hv-a", R"(,"results":{"note":"a)" "\xED\xA0\x80" R"("})"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(has(r.body, "\"field\":\"results.note\"")) << r.body;
  r = agent("PUT", "/api/v1/hosts/hv-a",
            R"({"hostname":"hv-a","tsc_khz":1,"scaling_supported":false,"offset_honoured":"yes","masterclock_possible":true,)"
            R"("vms":[{"uuid":"u1","name":")" "\xF4\x90\x80\x80" R"("}]})");  // beyond U+10FFFF
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(has(r.body, "\"field\":\"vms[0].name\"")) << r.body;
  // Whatever a peer puts in a path comes back as valid UTF-8.
  auto nf = reader("GET", "/api/v1/vms/%FF%C0");
  EXPECT_EQ(nf.status, 404u);
  EXPECT_EQ(first_invalid_utf8(nf.body), std::string::npos) << nf.body;
  EXPECT_EQ(first_invalid_utf8(reader("GET", "/api/v1/migrations?limit=500").body), std::string::npos);
}

TEST_F(HostileInput, DuplicateKeysAreRefused) {
  auto r = agent("POST", "/api/v1/migrations", R"({"vm_uuid":"d1","source":"hv-a","source":"hv-b"})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(has(r.body, "\"field\":\"source\"")) << r.body;
  EXPECT_TRUE(has(r.body, "duplicate")) << r.body;
}

// --- 4. results caps ------------------------------------------------------------

TEST_F(HostileInput, ResultsAreCappedInKeysAndBytes) {
  register_host("hv-a");
  std::string id = announce("vm-r");
  const std::string ev = "/api/v1/migrations/" + id + "/events";
  // 8 events of 0.9 MB once made a 7.3 MB record.
  const std::string big = R"(,"results":{"k0":")" + std::string(900'000, 'x') + R"("}})";
  auto r = agent("POST", ev, R"({"phase":"shipped","host":"hv-a","at_ns":1)" + big);
  EXPECT_EQ(r.status, 413u) << r.body.substr(0, 200);
  // Many small ones: the merged size is capped too.
  for (int i = 0; i < 3; ++i) {
    r = agent("POST", ev, event("shipped", "hv-a", R"(,"results":{"k)" + std::to_string(i) + R"(":")" +
                                                      std::string(30'000, 'y') + R"("})"));
    if (i < 2) {
      EXPECT_EQ(r.status, 200u) << r.body.substr(0, 200);
    }
  }
  EXPECT_EQ(r.status, 413u);
  EXPECT_TRUE(has(r.body, "\"field\":\"results\"")) << r.body.substr(0, 300);
  // Keys: 64 at most, however they arrive.
  std::string keys;
  for (int i = 0; i < 70; ++i) keys += std::string(i ? "," : "") + "\"n" + std::to_string(i) + "\":" + std::to_string(i);
  r = agent("POST", ev, event("shipped", "hv-a", R"(,"results":{)" + keys + "}"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(has(r.body, "keys")) << r.body;
  EXPECT_LT(reader("GET", "/api/v1/migrations/" + id).body.size(), 80'000u);
  // Reasons are capped.
  r = agent("POST", ev, event("failed", "hv-a", R"(,"reason":")" + std::string(5000, 'r') + "\""));
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(has(r.body, "\"field\":\"reason\"")) << r.body;
}

// --- 5. event host ----------------------------------------------------------------

TEST_F(HostileInput, AnEventHostIsAValidRegisteredName) {
  register_host("hv-a");
  std::string id = announce("vm-h");
  const std::string ev = "/api/v1/migrations/" + id + "/events";
  for (const std::string& h : {std::string(""), std::string("../x"), std::string("a\\u0000b"), std::string("a b")}) {
    auto r = writer("POST", ev, event("shipped", h));
    EXPECT_EQ(r.status, 400u) << h << ": " << r.body;
    EXPECT_TRUE(has(r.body, "\"field\":\"host\"")) << r.body;
  }
  auto r = writer("POST", ev, event("shipped", "hv-nowhere"));
  EXPECT_EQ(r.status, 404u) << r.body;
  EXPECT_TRUE(has(r.body, "not registered")) << r.body;
  auto m = json(reader("GET", "/api/v1/migrations/" + id));
  EXPECT_EQ(m["history"].Size(), 1u);
  EXPECT_STREQ(m["phase"].GetString(), "announced");
}

// --- 6. one controller per data dir --------------------------------------------------

TEST_F(HostileInput, ASecondControllerOnTheDataDirIsRefusedNamingTheHolder) {
  AppOptions o;
  o.listen = "127.0.0.1:0";
  o.data_dir = data_dir;
  o.plain_http = true;
  App second(o);
  auto p = second.start();
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(has(p.error().message(), "in use by another migclock-controller (pid " + std::to_string(getpid())))
      << p.error().message();
  // The real binary says so and exits 1.
  const std::string cmd = std::string(MIGCLOCK_CONTROLLER_BIN) + " --plain-http --listen 127.0.0.1:0 --data-dir " +
                          data_dir + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, f)) out += buf;
  EXPECT_EQ(WEXITSTATUS(pclose(f)), 1);
  EXPECT_TRUE(has(out, "pid " + std::to_string(getpid()))) << out;
  // The first one still serves.
  EXPECT_EQ(reader("GET", "/api/v1/hosts").status, 200u);
}

// --- 8. silent failures ------------------------------------------------------------

TEST_F(HostileInput, AFailedJournalCommitIsLoggedRateLimited) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  DbConnection other(data_dir + "/controller.db");
  other.exec("DROP TABLE vms");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(agent("PUT", "/api/v1/hosts/hv-a",
                    R"({"hostname":"hv-a","tsc_khz":1,"scaling_supported":false,"offset_honoured":"yes",)"
                    R"("masterclock_possible":true,"vms":[{"uuid":"u)" + std::to_string(i) + R"(","name":"n"}]})").status,
              503u);
  spdlog::default_logger()->sinks().pop_back();
  const std::string text = log.str();
  EXPECT_TRUE(has(text, "journal: commit of")) << text;
  size_t lines = 0;
  for (size_t at = text.find("journal: commit of"); at != std::string::npos; at = text.find("journal: commit of", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << "rate-limited to one line per 10 s: " << text;
}

TEST(HostileCli, AnUnknownLogLevelIsRefused) {
  const std::string dir = migclock::testing::make_temp_dir("migclock-loglevel");
  const std::string cmd = std::string(MIGCLOCK_CONTROLLER_BIN) + " --plain-http --listen 127.0.0.1:0 --data-dir " + dir +
                          " --log-level verbose 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, f)) out += buf;
  EXPECT_EQ(WEXITSTATUS(pclose(f)), 2);
  EXPECT_TRUE(has(out, "--log-level")) << out;
  (void)std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace migclock::controller::testing

namespace migclock::controller::testing {
namespace {

// --- doubtful items, decided: refuse ----------------------------------------------

TEST_F(HostileInput, TwoAuthorizationHeadersAreRefused) {
  // net::Client sets one; two take a raw socket.
  migclock::testing::TlsRawSocket s(port, migclock::testing::dev_certs().ca);
  bool closed = false;
  auto reply = migclock::testing::exchange(s,
                                           "GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                               read_token + "\r\nAuthorization: Bearer " + write_token + "\r\n\r\n",
                                           &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_TRUE(has(reply, "more than one Authorization")) << reply;
}

TEST_F(HostileInput, AJsonPostWithoutContentTypeIs415) {
  auto r = as(agent_token, "POST", "/api/v1/migrations", R"({"vm_uuid":"ct","source":"hv-a"})", "");
  EXPECT_EQ(r.status, 415u) << r.body;
  r = as(agent_token, "POST", "/api/v1/migrations", R"({"vm_uuid":"ct","source":"hv-a"})", "text/plain");
  EXPECT_EQ(r.status, 415u) << r.body;
  EXPECT_EQ(json(reader("GET", "/api/v1/migrations?vm=ct"))["total"].GetInt(), 0);
}

TEST_F(HostileInput, ATransferCodingOtherThanChunkedIs501) {
  migclock::testing::TlsRawSocket s(port, migclock::testing::dev_certs().ca);
  bool closed = false;
  auto reply = migclock::testing::exchange(
      s,
      "POST /api/v1/migrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " +
          agent_token + "\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 501", 0), 0u) << reply;
  EXPECT_TRUE(has(reply, "not_implemented")) << reply;
  // Plain chunked still works.
  migclock::testing::TlsRawSocket ok(port, migclock::testing::dev_certs().ca);
  const std::string body = R"({"vm_uuid":"te","source":"hv-a"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  reply = migclock::testing::exchange(
      ok,
      "POST /api/v1/migrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " +
          agent_token + "\r\nTransfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + body + "\r\n0\r\n\r\n",
      &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 201", 0), 0u) << reply;
}

}  // namespace
}  // namespace migclock::controller::testing

namespace migclock::controller::testing {
namespace {

// A journal from before the UTF-8 check may hold what a peer got stored:
// the controller still starts, and answers stay valid UTF-8.
TEST_F(HostileInput, AJournalWithIllFormedUtf8FromAnOlderVersionStillLoads) {
  register_host("hv-a");
  std::string id = announce("vm-old");
  stop();
  {
    DbConnection db(data_dir + "/controller.db");
    db.exec("UPDATE migrations SET json = replace(json, '\"vm_name\":\"n-vm-old\"', '\"vm_name\":\"bad' || "
            "char(65533) || x'ff' || '\"') WHERE key = '" + id + "'");
  }
  start();
  auto m = reader("GET", "/api/v1/migrations/" + id);
  ASSERT_EQ(m.status, 200u) << m.body;
  EXPECT_EQ(first_invalid_utf8(m.body), std::string::npos) << m.body;
}

}  // namespace
}  // namespace migclock::controller::testing
