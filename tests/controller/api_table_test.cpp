// docs/api.md's endpoint table is the contract: it must list exactly the
// routes the controller serves, with their scopes; every protected
// endpoint must answer 401 without a token and 403 with a wrong scope, and
// every endpoint its Success status to a valid request.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fixture.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::controller::testing {
namespace {

struct DocRow {
  std::string method, path;
  unsigned mask = 0;
  unsigned success = 0;
};

std::vector<DocRow> doc_rows() {
  std::ifstream f(std::string(MIGCLOCK_SOURCE_DIR) + "/docs/api.md");
  std::string line;
  bool in = false;
  std::vector<DocRow> rows;
  while (std::getline(f, line)) {
    if (line.find("<!-- endpoints:begin -->") != std::string::npos) { in = true; continue; }
    if (line.find("<!-- endpoints:end -->") != std::string::npos) break;
    if (!in || line.rfind("| ", 0) != 0 || line.rfind("| Method", 0) == 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '|')) {
      auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    }
    // cells[0] is empty (leading '|').
    DocRow r{cells[1], cells[2], 0, static_cast<unsigned>(std::stoi(cells[4]))};
    std::stringstream scopes(cells[3]);
    std::string s;
    while (std::getline(scopes, s, ',')) {
      if (s == "read") r.mask |= kRead;
      else if (s == "write") r.mask |= kWrite;
      else if (s == "agent") r.mask |= kAgent;
      else if (s != "public") ADD_FAILURE() << "unknown scope '" << s << "' in docs/api.md";
    }
    rows.push_back(r);
  }
  return rows;
}

std::string concrete(std::string path) {
  for (;;) {
    auto b = path.find('{');
    if (b == std::string::npos) return path;
    path.replace(b, path.find('}') - b + 1, "x1");
  }
}

using ApiTable = ControllerFixture;

TEST_F(ApiTable, DocsListExactlyTheServedRoutesWithTheirScopes) {
  auto rows = doc_rows();
  ASSERT_GE(rows.size(), 20u) << "endpoint table not found in docs/api.md";
  std::set<std::tuple<std::string, std::string, unsigned>> documented, served;
  for (const auto& r : rows) documented.emplace(r.method, r.path, r.mask);
  for (const auto& r : app->routes()) served.emplace(r.method, r.pattern, r.tag);
  for (const auto& d : documented)
    EXPECT_TRUE(served.count(d)) << "documented but not served (or other scopes): " << std::get<0>(d) << " " << std::get<1>(d);
  for (const auto& s : served)
    EXPECT_TRUE(documented.count(s)) << "served but not documented: " << std::get<0>(s) << " " << std::get<1>(s);
}

TEST_F(ApiTable, EveryProtectedEndpointRefusesMissingBadAndWrongScopeTokens) {
  // concrete() names every host "x1": the agent token is x1's (bound).
  const std::pair<Scope, std::string> tokens[] = {
      {Scope::read, read_token}, {Scope::write, write_token}, {Scope::agent, token_for("x1")}};
  for (const auto& r : doc_rows()) {
    std::string target = concrete(r.path);
    std::string body = r.method == "GET" ? "" : "{}";
    if (r.mask == kPublic) {
      auto res = as("", r.method, target, body);
      EXPECT_EQ(res.status, r.success) << r.method << " " << r.path << ": " << res.body;
      continue;
    }
    auto none = as("", r.method, target, body);
    EXPECT_EQ(none.status, 401u) << r.method << " " << r.path;
    EXPECT_NE(none.body.find("\"error\":\"unauthorized\""), std::string::npos) << none.body;
    auto bad = as("mct_0000000000000000000000000000000000000000000000000000000000000000", r.method, target, body);
    EXPECT_EQ(bad.status, 401u) << r.method << " " << r.path;
    for (const auto& [scope, token] : tokens) {
      auto res = as(token, r.method, target, body);
      if (scope_allows(scope, r.mask)) {
        EXPECT_NE(res.status, 401u) << r.method << " " << r.path << " as " << scope_name(scope);
        EXPECT_NE(res.status, 403u) << r.method << " " << r.path << " as " << scope_name(scope) << ": " << res.body;
      } else {
        EXPECT_EQ(res.status, 403u) << r.method << " " << r.path << " as " << scope_name(scope) << ": " << res.body;
        EXPECT_NE(res.body.find("\"error\":\"forbidden\""), std::string::npos);
      }
    }
  }
}

// One valid request per documented route, in the table's order, after a
// set-up that gives each something to act on: each must answer the
// table's Success status. A route added to the table without a request
// here (or a request for a route the table lacks) fails the test.
TEST_F(ApiTable, EveryDocumentedRouteAnswersItsSuccessStatusToAValidRequest) {
  namespace ser = migclock::serialization;
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  register_host("hv-b");
  const std::string offset = R"({"offset_ns":1000,"uncertainty_ns":100,"rtt_ns":200,"samples":8,"measured_at_ns":1})";
  for (const char* h : {"hv-a", "hv-b"})
    ASSERT_EQ(agent_of(h, "POST", std::string("/api/v1/hosts/") + h + "/clock-offset", offset).status, 204u);
  const std::string envelope = snapshot_of("u-with", 2), envelope_without = snapshot_of("u-without", 2);
  const std::string envelope_type = "application/vnd.migclock.snapshot";
  // A migration with a snapshot (its GET, restore inputs), one without (the PUT).
  const std::string with = announce("u-with"), without = announce("u-without");
  ASSERT_EQ(as(agent_token, "PUT", "/api/v1/migrations/" + with + "/snapshot", envelope, envelope_type).status, 200u);
  // A command delivered to hv-a (its result).
  auto queued = writer("POST", "/api/v1/vms/web1/sync", "{}");
  ASSERT_EQ(queued.status, 202u) << queued.body;
  const std::string cmd = json(queued)["id"].GetString();
  ASSERT_NE(agent("GET", "/api/v1/hosts/hv-a/commands?wait_s=0").body.find(cmd), std::string::npos);

  // `as_host`: whose agent token makes the call (agent tokens act for their host only).
  struct Call {
    Call(std::string t, std::string b = {}, std::string ct = "application/json", std::string h = "hv-a")
        : target(std::move(t)), body(std::move(b)), content_type(std::move(ct)), as_host(std::move(h)) {}
    std::string target, body, content_type, as_host;
  };
  const std::string m = "/api/v1/migrations/";
  std::map<std::string, Call> calls = {
      {"GET /healthz", {"/healthz"}},
      {"GET /readyz", {"/readyz"}},
      {"GET /metrics", {"/metrics"}},
      {"POST /api/v1/time", {"/api/v1/time", R"({"t1_ns":1})"}},
      {"PUT /api/v1/hosts/{hostname}",
       {"/api/v1/hosts/hv-c", R"({"hostname":"hv-c","tsc_khz":2899998,"scaling_supported":false,)"
                              R"("offset_honoured":"yes","masterclock_possible":true})", "application/json", "hv-c"}},
      {"GET /api/v1/hosts", {"/api/v1/hosts"}},
      {"GET /api/v1/hosts/{hostname}", {"/api/v1/hosts/hv-a"}},
      {"POST /api/v1/hosts/{hostname}/clock-offset", {"/api/v1/hosts/hv-a/clock-offset", offset}},
      {"GET /api/v1/hosts/{hostname}/clock-offset", {"/api/v1/hosts/hv-a/clock-offset"}},
      {"GET /api/v1/hosts/offset", {"/api/v1/hosts/offset?from=hv-a&to=hv-b"}},
      {"GET /api/v1/hosts/{hostname}/commands", {"/api/v1/hosts/hv-b/commands?wait_s=0", "", "application/json", "hv-b"}},
      {"POST /api/v1/hosts/{hostname}/commands/{id}/result",
       {"/api/v1/hosts/hv-a/commands/" + cmd + "/result", R"({"ok":true,"message":"synced"})"}},
      {"GET /api/v1/vms", {"/api/v1/vms?host=hv-a"}},
      {"GET /api/v1/vms/{uuid}", {"/api/v1/vms/u1"}},
      {"POST /api/v1/vms/{uuid}/sync", {"/api/v1/vms/u1/sync", "{}"}},
      {"GET /api/v1/commands/{id}", {"/api/v1/commands/" + cmd}},
      {"POST /api/v1/migrations", {"/api/v1/migrations", R"({"vm_uuid":"u-new","source":"hv-a","destination":"hv-b"})"}},
      {"GET /api/v1/migrations", {"/api/v1/migrations?active=true&limit=10"}},
      {"GET /api/v1/migrations/{id}", {m + with}},
      {"POST /api/v1/migrations/{id}/events", {m + with + "/events", R"({"phase":"shipped","host":"hv-a","at_ns":1})"}},
      {"PUT /api/v1/migrations/{id}/snapshot", {m + without + "/snapshot", envelope_without, envelope_type}},
      {"GET /api/v1/migrations/{id}/snapshot", {m + with + "/snapshot"}},
      {"GET /api/v1/migrations/{id}/restore-inputs",
       {m + with + "/restore-inputs?destination=hv-b", "", "application/json", "hv-b"}},
      {"POST /api/v1/preflight", {"/api/v1/preflight", R"({"vm":"web1","source":"hv-a","destination":"hv-b"})"}},
  };
  const std::pair<Scope, std::string> tokens[] = {
      {Scope::agent, agent_token}, {Scope::write, write_token}, {Scope::read, read_token}};
  std::set<std::string> exercised;
  for (const auto& r : doc_rows()) {
    std::string route = r.method + " " + r.path;
    auto call = calls.find(route);
    if (call == calls.end()) {
      ADD_FAILURE() << "no valid request for documented route " << route << ": add one to this test";
      continue;
    }
    exercised.insert(route);
    std::string token;
    for (const auto& [scope, t] : tokens)
      if (token.empty() && r.mask != kPublic && scope_allows(scope, r.mask))
        token = scope == Scope::agent ? token_for(call->second.as_host) : t;
    auto res = as(token, r.method, call->second.target, call->second.body, call->second.content_type);
    EXPECT_EQ(res.status, r.success) << route << " (docs/api.md says " << r.success << "): " << res.body.substr(0, 300);
  }
  for (const auto& [route, call] : calls)
    EXPECT_TRUE(exercised.count(route)) << "request for " << route << ", which docs/api.md does not list";
  // The requests did what their status claims.
  EXPECT_STREQ(json(reader("GET", "/api/v1/commands/" + cmd))["state"].GetString(), "done");
  EXPECT_STREQ(json(reader("GET", m + without))["phase"].GetString(), "source-captured");
  EXPECT_STREQ(json(reader("GET", m + with))["phase"].GetString(), "shipped");
  EXPECT_EQ(reader("GET", "/api/v1/hosts/hv-c").status, 200u);
}

TEST_F(ApiTable, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  auto nf = reader("GET", "/api/v1/nope");
  EXPECT_EQ(nf.status, 404u);
  auto na = reader("DELETE", "/api/v1/hosts");
  EXPECT_EQ(na.status, 405u);
  bool has_allow = false;
  for (const auto& [k, v] : na.headers)
    if (k == "allow") has_allow = v.find("GET") != std::string::npos;
  EXPECT_TRUE(has_allow);
}

TEST_F(ApiTable, HealthReadyAndMetrics) {
  EXPECT_EQ(as("", "GET", "/healthz").status, 200u);
  auto ready = as("", "GET", "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_NE(ready.body.find("\"ready\":true"), std::string::npos);
  register_host("hv-a");
  auto id = announce("vm-metrics");
  agent("POST", "/api/v1/migrations/" + id + "/events", R"({"phase":"failed","host":"hv-a","at_ns":1,"reason":"test"})");
  agent("POST", "/api/v1/hosts/hv-a/clock-offset", R"({"offset_ns":-1500,"uncertainty_ns":20000,"measured_at_ns":5})");
  auto m = reader("GET", "/metrics");
  ASSERT_EQ(m.status, 200u);
  EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u);
  EXPECT_NE(m.body.find("migclock_http_requests_total{route=\"/api/v1/hosts/{hostname}\",code=\"200\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("migclock_migrations{phase=\"failed\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("migclock_migration_outcomes_total{outcome=\"failed\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("migclock_journal_commit_seconds_count"), std::string::npos);
  EXPECT_NE(m.body.find("migclock_clock_offset_abs_seconds_bucket{le=\"1e-05\"} 1"), std::string::npos) << m.body;
}

}  // namespace
}  // namespace migclock::controller::testing
