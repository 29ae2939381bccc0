// Preflight's staleness rules (controller/src/preflight.cpp, docs/api.md
// "Preflight"): a host whose last heartbeat is older than 60 s is not alive,
// and the realtime offset between the hosts must exist for both and be at
// most 10 min old. Neither limit is a flag, so the controller runs on the
// project's ManualTimeSource (common/), started at the system's time: the
// real controller, TLS and journal, with a clock the test moves, which also
// makes the limits testable to the nanosecond.
#include <map>

#include "fixture.hpp"

namespace migclock::controller::testing {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kHeartbeatLimit = 60 * kSecond;
constexpr int64_t kOffsetLimit = 600 * kSecond;

struct Preflight : ControllerFixture {
  ManualTimeSource clock{SystemTimeSource::instance().realtime_ns(), SystemTimeSource::instance().monotonic_raw_ns()};

  void SetUp() override {
    time_source = &clock;
    ControllerFixture::SetUp();
  }

  // hv-a runs web1; both hosts have plausible, compatible facts.
  void register_both() {
    register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
    register_host("hv-b");
  }
  // measured_at_ns is the agent's clock and deliberately ancient: the
  // controller ages an offset by its receipt (controller clock, docs/api.md).
  void report_offset(const std::string& host, int64_t offset_ns) {
    auto r = agent_of(host, "POST", "/api/v1/hosts/" + host + "/clock-offset",
                   "{\"offset_ns\":" + std::to_string(offset_ns) + R"(,"uncertainty_ns":100,"measured_at_ns":1})");
    ASSERT_EQ(r.status, 204u) << r.body;
  }

  struct Answer {
    bool compatible = false;
    std::vector<std::string> reasons;
    std::map<std::string, bool> checks;
    std::string body;
    bool offset_null = true;
  };
  Answer preflight() {
    auto r = reader("POST", "/api/v1/preflight", R"({"vm":"web1","source":"hv-a","destination":"hv-b"})");
    EXPECT_EQ(r.status, 200u) << r.body;
    Answer a;
    a.body = r.body;
    auto d = json(r);
    if (!d.IsObject()) return a;
    a.compatible = d["compatible"].GetBool();
    for (const auto& s : d["reasons"].GetArray()) a.reasons.emplace_back(s.GetString());
    for (const auto& c : d["checks"].GetArray()) a.checks[c["name"].GetString()] = c["ok"].GetBool();
    a.offset_null = d["realtime_offset_ns"].IsNull();
    return a;
  }
};

// The reasons of a failed preflight are exactly `want` (in check order).
void expect_reasons(const Preflight::Answer& a, const std::vector<std::string>& want) {
  EXPECT_FALSE(a.compatible) << a.body;
  EXPECT_EQ(a.reasons, want) << a.body;
}

TEST_F(Preflight, AHeartbeatOlderThan60sFailsHostAliveForThatHost) {
  register_both();
  report_offset("hv-a", 1'000);
  report_offset("hv-b", -2'000);
  auto fresh = preflight();
  ASSERT_TRUE(fresh.compatible) << fresh.body;

  // Exactly at the limit: still alive (≤ 60 s).
  clock.advance_ns(kHeartbeatLimit);
  auto at_limit = preflight();
  EXPECT_TRUE(at_limit.compatible) << at_limit.body;
  EXPECT_TRUE(at_limit.checks.at("host_alive:hv-a"));

  // The destination heartbeats; the source does not, and goes 1 ms past it.
  register_host("hv-b");
  clock.advance_ns(kSecond / 1000);
  expect_reasons(preflight(), {"host_alive:hv-a: last heartbeat 60 s ago"});

  // Both stale: both named.
  clock.advance_ns(kHeartbeatLimit);
  auto both = preflight();
  expect_reasons(both, {"host_alive:hv-a: last heartbeat 120 s ago", "host_alive:hv-b: last heartbeat 60 s ago"});
  EXPECT_TRUE(both.checks.at("realtime_offset")) << "2 min old offsets are fresh enough: " << both.body;

  // Heartbeats revive them.
  register_both();
  EXPECT_TRUE(preflight().compatible);
}

TEST_F(Preflight, AMissingClockOffsetFailsRealtimeOffsetNamingTheHostWithout) {
  register_both();
  auto none = preflight();
  expect_reasons(none, {"realtime_offset: no clock offset measured yet for host 'hv-a'"});
  EXPECT_TRUE(none.offset_null);
  report_offset("hv-a", 1'000);
  auto source_only = preflight();
  expect_reasons(source_only, {"realtime_offset: no clock offset measured yet for host 'hv-b'"});
  EXPECT_TRUE(source_only.offset_null);
  report_offset("hv-b", -2'000);
  auto both = preflight();
  EXPECT_TRUE(both.compatible) << both.body;
  EXPECT_FALSE(both.offset_null);
}

TEST_F(Preflight, AnOffsetOlderThan10MinFailsRealtimeOffsetAsTooOld) {
  register_both();
  report_offset("hv-a", 1'000);
  report_offset("hv-b", -2'000);
  // The uncertainty includes each offset's aging: 50 ppm of 601 s is 30.05 ms.
  const auto detail = [](const char* plus_minus) {
    return std::string("realtime_offset: destination − source = 0.003 ms ± ") + plus_minus + " ms, measured ";
  };

  // At the limit: fresh enough (≤ 10 min), with fresh heartbeats.
  clock.advance_ns(kOffsetLimit);
  register_both();
  auto at_limit = preflight();
  EXPECT_TRUE(at_limit.compatible) << at_limit.body;

  clock.advance_ns(kSecond);
  register_both();
  expect_reasons(preflight(), {detail("60.100") + "601 s ago (too old)"});

  // A new sample from one host is not enough: the older of the two counts.
  report_offset("hv-a", 1'000);
  expect_reasons(preflight(), {detail("30.050") + "601 s ago (too old)"});
  report_offset("hv-b", -2'000);
  auto renewed = preflight();
  EXPECT_TRUE(renewed.compatible) << renewed.body;
  EXPECT_TRUE(renewed.reasons.empty());
}

// The per-host series the alerts use (docs/monitoring/alerts.yml): heartbeat
// age on the controller's clock, the latest offset and uncertainty in
// seconds; a host without a measured offset has no offset series.
TEST_F(Preflight, MetricsCarryEachHostsHeartbeatAgeAndOffset) {
  register_both();
  report_offset("hv-a", 2'500'000);
  clock.advance_ns(90 * kSecond);
  auto m = reader("GET", "/metrics");
  ASSERT_EQ(m.status, 200u);
  for (const char* line : {"migclock_host_heartbeat_age_seconds{host=\"hv-a\"} 90\n",
                           "migclock_host_heartbeat_age_seconds{host=\"hv-b\"} 90\n",
                           "migclock_host_clock_offset_seconds{host=\"hv-a\"} 0.0025\n",
                           "migclock_host_clock_offset_uncertainty_seconds{host=\"hv-a\"} 1e-07\n"})
    EXPECT_NE(m.body.find(line), std::string::npos) << line << " not in\n" << m.body;
  EXPECT_EQ(m.body.find("migclock_host_clock_offset_seconds{host=\"hv-b\"}"), std::string::npos);
  register_host("hv-b");  // a heartbeat
  EXPECT_NE(reader("GET", "/metrics").body.find("migclock_host_heartbeat_age_seconds{host=\"hv-b\"} 0\n"),
            std::string::npos);
}

}  // namespace
}  // namespace migclock::controller::testing
