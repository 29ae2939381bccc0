// net::Client with several servers (issue 13: agents and migclockctl given
// every controller's URL): a request that cannot reach one server goes to
// the next; a server that failed waits out a backoff before it is first again.
#include <gtest/gtest.h>

#include <chrono>

#include "migclock/net/client.hpp"
#include "migclock/net/server.hpp"

namespace migclock::net {
namespace {

// A plain loopback server answering its own name.
struct Named {
  explicit Named(std::string name) : server(ServerOptions{}, [name](Request&&, Responder out) {
    out.send(Response::text(200, name, "text/plain"));
  }) {
    port = server.listen_plain("127.0.0.1", 0).value();
    EXPECT_TRUE(server.start().ok());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  Server server;
  uint16_t port = 0;
};

// A loopback port nobody listens on: bound by a server that is then stopped.
std::string dead_url() {
  Named gone("gone");
  std::string url = gone.url();
  gone.server.stop();
  return url;
}

TEST(ClientFailover, ARefusedServerIsSkippedAndTheNextAnswers) {
  Named b("b");
  const std::string a = dead_url();
  Client c(ClientOptions{a + ", " + b.url()});
  auto r = c.get("/x");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->body, "b");
  EXPECT_EQ(c.current_server(), b.url());
  EXPECT_EQ(c.options().server, a + ", " + b.url()) << "options() keeps the list as given";
  // Stays on the one that answers.
  EXPECT_EQ(c.get("/y")->body, "b");
}

TEST(ClientFailover, WhenTheCurrentServerDiesTheNextTakesTheRequest) {
  auto a = std::make_unique<Named>("a");
  Named b("b");
  Client c(ClientOptions{a->url() + "," + b.url()});
  EXPECT_EQ(c.get("/1")->body, "a");
  a->server.stop();
  a.reset();
  auto r = c.get("/2");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->body, "b");
}

TEST(ClientFailover, AllDownIsUnavailableNamingTheLastOneTried) {
  const std::string a = dead_url(), b = dead_url();
  Client c(ClientOptions{a + "," + b});
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.get("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::unavailable)) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << "refusals fail fast";
}

TEST(ClientFailover, AServerInBackoffIsTriedOnlyWhenNoOtherAnswers) {
  // a is down: b answers, and a (in backoff) is not tried first again.
  Named b("b");
  const std::string a = dead_url();
  Client c(ClientOptions{a + "," + b.url()});
  EXPECT_EQ(c.get("/1")->body, "b");
  // Even a fresh order starting at a would skip it: b stays current.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get("/n")->body, "b");
}

TEST(ClientFailover, ABadUrlInTheListIsAConfigurationError) {
  Named b("b");
  Client c(ClientOptions{"ftp://x:1," + b.url()});
  auto r = c.get("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
}

}  // namespace
}  // namespace migclock::net
