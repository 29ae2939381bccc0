// net::Server and net::Client over real sockets: TLS with a dev CA, plain
// TCP on loopback, unix sockets; limits (413/431), read timeouts, keep-alive.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"
#include "migclock/net/server.hpp"
#include "net_test_support.hpp"

using namespace migclock;
using namespace migclock::net;
using migclock::testing::dev_certs;
using migclock::testing::RawSocket;

namespace {

// Echo handler: method, path, query x, body length, peer transport.
void echo(Request&& req, Responder out) {
  if (req.path == "/later") {
    std::thread([out] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      out.send(Response::json(200, R"({"late":true})"));
    }).detach();
    return;
  }
  if (req.path == "/forget") return;  // Responder dropped: must become 500
  JsonWriter w;
  w.begin_object()
      .key("method").value(req.method)
      .key("path").value(req.path)
      .key("x").value(req.query_or("x"))
      .key("body_len").value(static_cast<int64_t>(req.body.size()))
      .key("token").value(req.bearer_token())
      .key("transport").value(static_cast<int64_t>(req.peer.transport))
      .key("uid").value(static_cast<int64_t>(req.peer.uid.value_or(99999)))
      .end_object();
  out.send(Response::json(200, w.str()));
}

struct Fixture : ::testing::Test {
  ServerOptions opts() {
    ServerOptions o;
    o.threads = 2;
    o.header_limit = 4096;
    o.body_limit = 1024;
    o.read_timeout = std::chrono::milliseconds(400);
    o.idle_timeout = std::chrono::milliseconds(2000);
    o.body_limit_for = [](const std::string&, const std::string& path) -> std::size_t {
      return path == "/big" ? 64 * 1024 : 1024;
    };
    return o;
  }
};

TEST_F(Fixture, TlsRoundTripWithVerifiedCertificateAndKeepAlive) {
  Server s(opts(), echo);
  auto port = s.listen_tls("127.0.0.1", 0, {dev_certs().cert, dev_certs().key});
  ASSERT_TRUE(port.ok()) << port.error().message();
  ASSERT_TRUE(s.start().ok());
  Client c(ClientOptions{"https://127.0.0.1:" + std::to_string(*port), dev_certs().ca, "tok123"});
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("POST", "/echo/a%20b?x=y%26z", "hello");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->status, 200u);
    auto d = parse_object(r->body);
    ASSERT_TRUE(d.ok());
    EXPECT_STREQ((*d)["path"].GetString(), "/echo/a b");
    EXPECT_STREQ((*d)["x"].GetString(), "y&z");
    EXPECT_EQ((*d)["body_len"].GetInt(), 5);
    EXPECT_STREQ((*d)["token"].GetString(), "tok123");
    EXPECT_EQ((*d)["transport"].GetInt(), static_cast<int>(Transport::tls));
  }
  auto late = c.get("/later");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->body, R"({"late":true})");
  auto forgotten = c.get("/forget");
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(forgotten->status, 500u);
}

TEST_F(Fixture, TlsClientRejectsUntrustedServer) {
  Server s(opts(), echo);
  auto port = s.listen_tls("127.0.0.1", 0, {dev_certs().cert, dev_certs().key});
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  // The system trust store does not contain the dev CA.
  ClientOptions co{"https://127.0.0.1:" + std::to_string(*port), "", ""};
  co.timeout = std::chrono::milliseconds(2000);
  Client c(co);
  auto r = c.get("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("TLS handshake"), std::string::npos) << r.error().message();
}

TEST_F(Fixture, PlainHttpOnlyOnLoopback) {
  Server s(opts(), echo);
  auto refused = s.listen_plain("0.0.0.0", 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("loopback"), std::string::npos);
  auto port = s.listen_plain("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  Client c(ClientOptions{"http://127.0.0.1:" + std::to_string(*port)});
  auto r = c.get("/p");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200u);
}

TEST_F(Fixture, UnixSocketCarriesPeerCredentials) {
  Server s(opts(), echo);
  auto dir = migclock::testing::make_temp_dir("migclock-net");
  ASSERT_TRUE(s.listen_unix(dir + "/api.sock", 0600).ok());
  ASSERT_TRUE(s.start().ok());
  Client c(ClientOptions{"unix:" + dir + "/api.sock"});
  auto r = c.get("/u");
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = parse_object(r->body);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["transport"].GetInt(), static_cast<int>(Transport::unix_socket));
  EXPECT_EQ((*d)["uid"].GetInt64(), static_cast<int64_t>(getuid()));
}

TEST_F(Fixture, OversizedBodyIs413AndPerRouteLimitApplies) {
  Server s(opts(), echo);
  auto port = s.listen_tls("127.0.0.1", 0, {dev_certs().cert, dev_certs().key});
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  Client c(ClientOptions{"https://127.0.0.1:" + std::to_string(*port), dev_certs().ca});
  auto r = c.post("/small", std::string(2000, 'a'));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 413u);
  EXPECT_NE(r->body.find("payload_too_large"), std::string::npos);
  Client c2(ClientOptions{"https://127.0.0.1:" + std::to_string(*port), dev_certs().ca});
  auto big = c2.post("/big", std::string(2000, 'a'));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->status, 200u);
}

TEST_F(Fixture, ChunkedBodyOverLimitIs413) {
  Server s(opts(), echo);
  auto port = s.listen_plain("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  RawSocket raw(*port);
  std::string chunk(800, 'b');
  char hex[16];
  snprintf(hex, sizeof hex, "%zx", chunk.size());
  std::string req = "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += std::string(hex) + "\r\n" + chunk + "\r\n";
  req += "0\r\n\r\n";
  raw.send_all(req);
  bool closed = false;
  auto reply = raw.read_until_close(std::chrono::milliseconds(3000), &closed);
  EXPECT_NE(reply.find("413"), std::string::npos) << reply;
}

TEST_F(Fixture, HugeHeadersAre431) {
  Server s(opts(), echo);
  auto port = s.listen_plain("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  RawSocket raw(*port);
  raw.send_all("GET / HTTP/1.1\r\nHost: x\r\nX-Junk: " + std::string(8000, 'j') + "\r\n\r\n");
  bool closed = false;
  auto reply = raw.read_until_close(std::chrono::milliseconds(3000), &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 80);
  EXPECT_TRUE(closed);
}

TEST_F(Fixture, SlowlorisPartialRequestHitsReadTimeout) {
  Server s(opts(), echo);
  auto port = s.listen_plain("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  RawSocket raw(*port);
  auto start = std::chrono::steady_clock::now();
  raw.send_all("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  // Keep trickling bytes: the deadline covers the whole request, not each byte.
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    raw.send_all("a");
    raw.read_until_close(std::chrono::milliseconds(50), &closed);
  }
  if (!closed) raw.read_until_close(std::chrono::milliseconds(3000), &closed);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed) << "server kept a slowloris connection open";
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST_F(Fixture, TlsHandshakeNeverStartedIsDropped) {
  Server s(opts(), echo);
  auto port = s.listen_tls("127.0.0.1", 0, {dev_certs().cert, dev_certs().key});
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  RawSocket raw(*port);
  bool closed = false;
  raw.read_until_close(std::chrono::milliseconds(3000), &closed);
  EXPECT_TRUE(closed);
}

TEST_F(Fixture, GarbageRequestLineIs400) {
  Server s(opts(), echo);
  auto port = s.listen_plain("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  RawSocket raw(*port);
  raw.send_all("\x01\x02 NONSENSE\r\n\r\n");
  bool closed = false;
  auto reply = raw.read_until_close(std::chrono::milliseconds(3000), &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_TRUE(closed);
}

TEST_F(Fixture, ClientTimesOutOnSilentServer) {
  Server s(opts(), [](Request&&, Responder out) {
    std::thread([out] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      out.send(Response::no_content());
    }).detach();
  });
  auto port = s.listen_plain("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  ClientOptions co{"http://127.0.0.1:" + std::to_string(*port)};
  co.timeout = std::chrono::milliseconds(200);
  Client c(co);
  auto r = c.get("/slow");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::timeout));
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
}

TEST(ClientConfig, BadServerUrlIsInvalidArgument) {
  Client c(ClientOptions{"ftp://x"});
  auto r = c.get("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
}

}  // namespace

// Issue 12 #9: a handler that throws once terminated the whole process.
TEST_F(Fixture, HostileAHandlerThatThrowsIsAnswered500AndCounted) {
  std::mutex mu;
  std::vector<std::string> told;
  ServerOptions o = opts();
  o.on_handler_exception = [&](const std::string& request, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    told.push_back(request + ": " + what);
  };
  Server s(o, [](Request&& req, Responder out) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/throw-int") throw 42;
    echo(std::move(req), std::move(out));
  });
  auto port = s.listen_plain("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(s.start().ok());
  Client c(ClientOptions{"http://127.0.0.1:" + std::to_string(*port)});
  auto r = c.get("/throw");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 500u);
  auto d = parse_object(r->body);
  ASSERT_TRUE(d.ok()) << r->body;
  EXPECT_STREQ((*d)["error"].GetString(), "internal");
  EXPECT_TRUE((*d).HasMember("message"));
  EXPECT_EQ(c.get("/throw-int")->status, 500u);
  EXPECT_EQ(c.get("/echo")->status, 200u) << "the server goes on serving";
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(told, (std::vector<std::string>{"GET /throw: boom", "GET /throw-int: unknown exception"}));
  EXPECT_EQ(s.handler_exceptions(), 2u);
}
