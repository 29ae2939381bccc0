// Read deadlines over real sockets (net/README.md "Timeouts"): idle budget
// until a keep-alive request's first byte, then one read_timeout for its
// head and body together, ended by a 408; and refuse_before_body, which
// answers from the head without taking the body in.
#include <gtest/gtest.h>

#include <atomic>

#include "migclock/net/server.hpp"
#include "net_test_support.hpp"

using namespace migclock::net;
using migclock::testing::dev_certs;
using migclock::testing::RawSocket;
using migclock::testing::TlsRawSocket;
using migclock::testing::trickle;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kReadTimeout{1000};
const std::string kFirst = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n";
// ~80 bytes: at 40 ms a byte, far longer than two read timeouts.
const std::string kSlowHead = "GET /second HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(40, 's') + "\r\n\r\n";

struct Deadlines : ::testing::Test {
  std::atomic<int> handled{0};
  std::unique_ptr<Server> server;
  uint16_t port = 0;

  void start(bool tls, ServerOptions o = {}) {
    o.threads = 2;
    o.read_timeout = kReadTimeout;
    o.idle_timeout = milliseconds(5000);
    server = std::make_unique<Server>(o, [this](Request&& req, const Responder& out) {
      ++handled;
      out.send(Response::json(200, "{\"body_len\":" + std::to_string(req.body.size()) + "}"));
    });
    auto p = tls ? server->listen_tls("127.0.0.1", 0, {dev_certs().cert, dev_certs().key})
                 : server->listen_plain("127.0.0.1", 0);
    ASSERT_TRUE(p.ok()) << p.error().message();
    port = *p;
    ASSERT_TRUE(server->start().ok());
  }

  // First request answered on the connection; then the second one trickled.
  template <class Socket>
  void second_request_is_cut_off(Socket& s) {
    bool closed = false;
    auto first = migclock::testing::exchange(s, kFirst, &closed);
    ASSERT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
    auto t0 = Clock::now();
    auto t = trickle(s, kSlowHead, milliseconds(40));
    if (!t.closed) t.reply += s.read_until_close(milliseconds(3000), &t.closed);
    EXPECT_TRUE(t.closed) << "a trickled keep-alive request kept the connection";
    EXPECT_EQ(t.reply.rfind("HTTP/1.1 408", 0), 0u) << t.reply;
    EXPECT_NE(t.reply.find("\"error\":\"request_timeout\""), std::string::npos) << t.reply;
    EXPECT_LT(Clock::now() - t0, 2 * kReadTimeout);
    EXPECT_EQ(handled, 1);
  }
};

TEST_F(Deadlines, TrickledSecondKeepAliveRequestGets408WithinTheReadTimeout) {
  ASSERT_NO_FATAL_FAILURE(start(false));
  RawSocket s(port);
  ASSERT_NO_FATAL_FAILURE(second_request_is_cut_off(s));
}

TEST_F(Deadlines, TrickledSecondKeepAliveRequestGets408OverTls) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  TlsRawSocket s(port, dev_certs().ca);
  ASSERT_NO_FATAL_FAILURE(second_request_is_cut_off(s));
}

TEST_F(Deadlines, SlowBodyAfterFastHeadGets408) {
  ASSERT_NO_FATAL_FAILURE(start(false));
  RawSocket s(port);
  auto t0 = Clock::now();
  s.send_all("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
  auto t = trickle(s, std::string(100, 'b'), milliseconds(40));
  if (!t.closed) t.reply += s.read_until_close(milliseconds(3000), &t.closed);
  EXPECT_TRUE(t.closed);
  EXPECT_EQ(t.reply.rfind("HTTP/1.1 408", 0), 0u) << t.reply;
  EXPECT_LT(Clock::now() - t0, 2 * kReadTimeout);
  EXPECT_EQ(handled, 0);
}

TEST_F(Deadlines, HeadAndBodyShareOneDeadline) {
  // A head that takes 60% of the budget leaves the body only the rest: the
  // 408 comes one read timeout after the first byte, not a head's worth later.
  ASSERT_NO_FATAL_FAILURE(start(false));
  RawSocket s(port);
  auto t0 = Clock::now();
  const std::string head = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
  auto h = trickle(s, head, milliseconds(600 / static_cast<int>(head.size())));
  ASSERT_FALSE(h.closed) << h.reply;
  auto t = trickle(s, std::string(100, 'b'), milliseconds(40));
  ASSERT_FALSE(t.reply.empty()) << "no answer while the body trickled";
  EXPECT_EQ(t.reply.rfind("HTTP/1.1 408", 0), 0u) << t.reply;
  EXPECT_LT(t.first_reply_at - t0, kReadTimeout * 3 / 2) << "the body got a deadline of its own";
}

TEST_F(Deadlines, IdleKeepAliveConnectionOutlivesTheReadTimeout) {
  ASSERT_NO_FATAL_FAILURE(start(false));
  RawSocket s(port);
  bool closed = false;
  EXPECT_EQ(migclock::testing::exchange(s, kFirst, &closed).rfind("HTTP/1.1 200", 0), 0u);
  s.read_until_close(kReadTimeout * 3 / 2, &closed);  // idle, within idle_timeout
  ASSERT_FALSE(closed) << "idle keep-alive connection closed at the read timeout";
  EXPECT_EQ(migclock::testing::exchange(s, kFirst, &closed).rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(Deadlines, ConnectionThatSendsNothingIsClosedUnanswered) {
  ASSERT_NO_FATAL_FAILURE(start(false));
  RawSocket s(port);
  bool closed = false;
  auto t0 = Clock::now();
  auto got = s.read_until_close(milliseconds(4000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");
  EXPECT_LT(Clock::now() - t0, 2 * kReadTimeout);
}

TEST_F(Deadlines, RefuseBeforeBodyAnswersFromTheHeadAlone) {
  ServerOptions o;
  o.body_limit = 32u << 20;
  std::atomic<int> asked{0};
  o.refuse_before_body = [&](const Request& head) -> std::optional<Response> {
    ++asked;
    EXPECT_TRUE(head.body.empty());
    if (head.header("authorization").empty()) return Response::json(401, R"({"error":"unauthorized"})");
    return std::nullopt;
  };
  ASSERT_NO_FATAL_FAILURE(start(false, o));
  // Refused: the answer comes without a byte of the announced 15 MB body.
  RawSocket s(port);
  bool closed = false;
  auto reply = migclock::testing::exchange(s, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 15000000\r\n\r\n", &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << reply;
  s.read_until_close(milliseconds(3000), &closed);
  EXPECT_TRUE(closed) << "a refused request's connection stayed open";
  // Allowed: the body is read and handled; bodiless requests are not asked about.
  RawSocket ok(port);
  auto got = migclock::testing::exchange(ok, "PUT /x HTTP/1.1\r\nHost: x\r\nAuthorization: y\r\nContent-Length: 3\r\n\r\nabc", &closed);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_NE(got.find("\"body_len\":3"), std::string::npos);
  EXPECT_EQ(migclock::testing::exchange(ok, kFirst, &closed).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(handled, 2);
}

}  // namespace
