#include <gtest/gtest.h>

#include "migclock/net/router.hpp"

using namespace migclock::net;

TEST(Router, LiteralsBeatParametersAnd405ListsAllow) {
  Router r;
  r.add_sync("GET", "/api/v1/hosts/{hostname}", 1, [](const Request&, const Params&) { return Response{}; });
  r.add_sync("GET", "/api/v1/hosts/offset", 2, [](const Request&, const Params&) { return Response{}; });
  r.add_sync("PUT", "/api/v1/hosts/{hostname}", 3, [](const Request&, const Params&) { return Response{}; });
  auto m = r.match("GET", "/api/v1/hosts/offset");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->tag, 2u);
  auto h = r.match("GET", "/api/v1/hosts/hv-a");
  ASSERT_TRUE(h.route);
  EXPECT_EQ(h.params.at("hostname"), "hv-a");
  auto n = r.match("DELETE", "/api/v1/hosts/hv-a");
  EXPECT_FALSE(n.route);
  EXPECT_EQ(n.problem.code, ApiErrc::method_not_allowed);
  EXPECT_EQ(n.allow, "GET, PUT");
  auto nf = r.match("GET", "/api/v1/nothing");
  EXPECT_EQ(nf.problem.code, ApiErrc::not_found);
}

TEST(Target, SplitDecodesPathAndQuery) {
  std::string path;
  std::map<std::string, std::string> q;
  ASSERT_TRUE(split_target("/a%2Fb/c+d?x=1+2&y=%41&flag", path, q));
  EXPECT_EQ(path, "/a/b/c+d");
  EXPECT_EQ(q["x"], "1 2");
  EXPECT_EQ(q["y"], "A");
  EXPECT_EQ(q.count("flag"), 1u);
  EXPECT_FALSE(split_target("/bad%zz", path, q));
}
