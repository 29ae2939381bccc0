// Malformed, oversized and hostile requests against the real controller.
#include <sys/stat.h>

#include <thread>

#include "fixture.hpp"
#include "migclock/controller/auth.hpp"

namespace migclock::controller::testing {
namespace {

using migclock::testing::dev_certs;
using migclock::testing::RawSocket;
using Hostile = ControllerFixture;

TEST_F(Hostile, InvalidJsonIs400WithPosition) {
  register_host("hv-a");
  for (const char* body : {"{", "{\"hostname\":", "not json", "{\"a\":1}}", "[]", "\"str\"", "{\"a\":\x01}"}) {
    auto r = agent("PUT", "/api/v1/hosts/hv-a", body);
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_NE(r.body.find("\"error\":\"invalid_json\""), std::string::npos) << body << " → " << r.body;
  }
  auto empty = agent("POST", "/api/v1/migrations", "");
  EXPECT_EQ(empty.status, 400u);
  std::string deep(5000, '[');
  auto nested = agent("POST", "/api/v1/migrations", "{\"a\":" + deep + "}");
  EXPECT_EQ(nested.status, 400u);
  EXPECT_NE(nested.body.find("nested"), std::string::npos);
}

TEST_F(Hostile, WrongTypesAndOverlongStringsNameTheField) {
  auto r = agent("POST", "/api/v1/migrations", R"({"vm_uuid":42,"source":"hv-a"})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("\"field\":\"vm_uuid\""), std::string::npos);
  r = agent("POST", "/api/v1/migrations", "{\"vm_uuid\":\"" + std::string(1000, 'u') + "\",\"source\":\"hv-a\"}");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("\"field\":\"vm_uuid\""), std::string::npos);
  r = agent("POST", "/api/v1/time", R"({"t1_ns":1e30})");
  EXPECT_NE(r.body.find("\"field\":\"t1_ns\""), std::string::npos);
  r = agent("POST", "/api/v1/time", R"({"t1_ns":99999999999999999999999})");
  EXPECT_EQ(r.status, 400u);
}

TEST_F(Hostile, OversizedBodyIs413AndHugeHeadersAre431) {
  auto c = client(agent_token);
  auto big = c.request("POST", "/api/v1/migrations", "{\"pad\":\"" + std::string(2u << 20, 'x') + "\"}");
  ASSERT_TRUE(big.ok()) << big.error().message();
  EXPECT_EQ(big->status, 413u);
  auto c2 = client(agent_token);
  auto huge = c2.request("GET", "/api/v1/hosts", "", "", {{"X-Junk", std::string(20000, 'j')}});
  ASSERT_TRUE(huge.ok()) << huge.error().message();
  EXPECT_EQ(huge->status, 431u);
  // The server is still healthy.
  EXPECT_EQ(reader("GET", "/api/v1/hosts").status, 200u);
}

TEST_F(Hostile, StalledTlsHandshakeIsDroppedAtTheReadTimeout) {
  RawSocket raw(port);  // TCP connect, never say hello
  bool closed = false;
  auto t0 = std::chrono::steady_clock::now();
  raw.read_until_close(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(Hostile, SlowlorisOnPlainLoopbackIsDroppedAtTheReadTimeout) {
  // Byte-level abuse needs plain HTTP: a second controller on the same
  // journal directory would contend for it, so use its own data dir.
  AppOptions o;
  o.listen = "127.0.0.1:0";
  o.data_dir = migclock::testing::make_temp_dir("migclock-ctl-plain");
  o.plain_http = true;
  o.read_timeout_ms = 500;
  App plain(o);
  auto p = plain.start();
  ASSERT_TRUE(p.ok()) << p.error().message();
  RawSocket raw(*p);
  raw.send_all("GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\n");
  bool closed = false;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 60 && !closed; ++i) {
    raw.send_all("X-A: b\r\n");
    raw.read_until_close(std::chrono::milliseconds(50), &closed);
  }
  if (!closed) raw.read_until_close(std::chrono::seconds(3), &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  // Garbage request line → 400 and close.
  RawSocket junk(*p);
  junk.send_all("BLAH\x7f /\r\n\r\n");
  auto reply = junk.read_until_close(std::chrono::seconds(3), &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  plain.stop();
  std::string rm = "rm -rf " + o.data_dir;
  (void)std::system(rm.c_str());
}

// The audit's slow2.py: a fast head, then a body trickled to stretch the
// request. One read deadline covers both; the client is told 408.
TEST_F(Hostile, SlowBodyOverTlsGets408WithinTheReadTimeout) {
  migclock::testing::TlsRawSocket s(port, dev_certs().ca);
  const std::string body = R"({"vm_uuid":"slowvm","source":"hv-a"})";
  auto t0 = std::chrono::steady_clock::now();
  s.send_all("POST /api/v1/migrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " +
             agent_token + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  auto t = migclock::testing::trickle(s, body, std::chrono::milliseconds(45));
  if (!t.closed) t.reply += s.read_until_close(std::chrono::seconds(3), &t.closed);
  EXPECT_EQ(t.reply.rfind("HTTP/1.1 408", 0), 0u) << t.reply;
  EXPECT_NE(t.reply.find("\"error\":\"request_timeout\""), std::string::npos) << t.reply;
  EXPECT_TRUE(t.closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1000)) << "read timeout is 500 ms";
  EXPECT_EQ(json(reader("GET", "/api/v1/migrations?vm=slowvm"))["total"].GetInt(), 0);
}

// An unauthenticated 15 MB upload is refused from its head: the 401 comes
// without a byte of the body sent. So do 403 (wrong scope) and 404.
TEST_F(Hostile, RefusedUploadsAreAnsweredBeforeTheBody) {
  auto head = [](const std::string& target, const std::string& auth) {
    return "PUT " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.migclock.snapshot\r\n" +
           (auth.empty() ? "" : "Authorization: Bearer " + auth + "\r\n") + "Content-Length: 15000000\r\n\r\n";
  };
  const std::pair<std::string, std::string> refused[] = {
      {head("/api/v1/migrations/m-x/snapshot", ""), "HTTP/1.1 401"},
      {head("/api/v1/migrations/m-x/snapshot", read_token), "HTTP/1.1 403"},
      {head("/api/v1/nowhere", agent_token), "HTTP/1.1 404"},
  };
  for (const auto& [request, status] : refused) {
    migclock::testing::TlsRawSocket s(port, dev_certs().ca);
    bool closed = false;
    auto reply = migclock::testing::exchange(s, request, &closed);
    EXPECT_EQ(reply.rfind(status, 0), 0u) << request << " → " << reply;
    s.read_until_close(std::chrono::seconds(3), &closed);
    EXPECT_TRUE(closed) << "connection kept after refusing " << request;
  }
  // Allowed: the server waits for the body, and then judges it.
  migclock::testing::TlsRawSocket s(port, dev_certs().ca);
  bool closed = false;
  s.send_all("PUT /api/v1/migrations/m-x/snapshot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Authorization: Bearer " + agent_token + "\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(s.read_until_close(std::chrono::milliseconds(200), &closed), "");
  auto reply = migclock::testing::exchange(s, "{}", &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;  // {} is no snapshot
  auto m = reader("GET", "/metrics");
  EXPECT_NE(m.body.find("migclock_http_requests_total{route=\"/api/v1/migrations/{id}/snapshot\",code=\"401\"} 1"),
            std::string::npos) << "refusals before the body are counted";
}

TEST_F(Hostile, JournalFilesAreOwnerOnly) {
  struct stat st {};
  for (const char* f : {"/controller.db", "/controller.db-wal", "/controller.db-shm"}) {
    ASSERT_EQ(::stat((data_dir + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
}

TEST_F(Hostile, PlainHttpRefusedOffLoopback) {
  AppOptions o;
  o.listen = "0.0.0.0:0";
  o.data_dir = data_dir + "-x";
  o.plain_http = true;
  App app2(o);
  auto p = app2.start();
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("loopback"), std::string::npos);
}

TEST_F(Hostile, TokensAreHashedAtRest) {
  std::string cmd = "sqlite3 " + data_dir + "/controller.db 'select key from tokens' 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[256];
  std::string all;
  while (fgets(buf, sizeof buf, f)) all += buf;
  pclose(f);
  EXPECT_EQ(all.find(agent_token), std::string::npos);
  EXPECT_NE(all.find(sha256_hex(agent_token)), std::string::npos) << all;
  std::string dump = "grep -c " + agent_token + " " + data_dir + "/controller.db* >/dev/null 2>&1";
  EXPECT_NE(std::system(dump.c_str()), 0) << "the token secret appears in the journal files";
}

TEST_F(Hostile, BearerSchemeVariantsAndGarbageTokens) {
  auto c = client("");
  for (const char* h : {"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer nope", "Token x"}) {
    auto r = c.request("GET", "/api/v1/hosts", "", "", {{"Authorization", h}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401u) << h;
  }
  auto ok = c.request("GET", "/api/v1/hosts", "", "", {{"Authorization", "bearer " + read_token}});
  EXPECT_EQ(ok->status, 200u);
}

}  // namespace
}  // namespace migclock::controller::testing
