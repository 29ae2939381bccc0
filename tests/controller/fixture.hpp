// A real controller (App) on an ephemeral TLS port with a SQLite journal in
// a temp dir, and one token per scope.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "migclock/controller/app.hpp"
#include "migclock/controller/etcd_store.hpp"
#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"
#include "net_test_support.hpp"

namespace migclock::controller::testing {

// An offset's uncertainty grows with its age (offset_estimate.hpp, 50 ns
// per ms): what a test allows for the time between posting and reading it.
constexpr int64_t kAgingSlackNs = 10'000;  // 200 ms

struct ControllerFixture : ::testing::Test {
  void SetUp() override;
  void TearDown() override;
  // Starts (or restarts on the same data dir) the controller.
  void start(int64_t phase_timeout_s = 600);
  void stop();

  net::Client client(const std::string& token) const;
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port); }

  // Shorthands with the agent / write / read tokens. Fail the test on a
  // transport error.
  net::Response as(const std::string& token, const std::string& method, const std::string& target,
                   const std::string& body = {}, const std::string& content_type = "application/json") const;
  // As the agent of hv-a (agent_token is bound to hv-a).
  net::Response agent(const std::string& m, const std::string& t, const std::string& b = {}) const {
    return as(agent_token, m, t, b);
  }
  // As the agent of `host`, with a token bound to it (made on first use).
  net::Response agent_of(const std::string& host, const std::string& m, const std::string& t,
                         const std::string& b = {});
  std::string token_for(const std::string& host);
  net::Response reader(const std::string& m, const std::string& t, const std::string& b = {}) const {
    return as(read_token, m, t, b);
  }
  net::Response writer(const std::string& m, const std::string& t, const std::string& b = {}) const {
    return as(write_token, m, t, b);
  }

  // PUT /hosts/{name} with plausible facts.
  void register_host(const std::string& name, uint32_t tsc_khz = 2'899'998, const std::string& vms_json = "[]",
                     const std::string& extra = R"("offset_honoured":"yes","masterclock_possible":true,"invtsc":"yes")");
  std::string announce(const std::string& vm_uuid, const std::string& source = "hv-a",
                       const std::string& destination = "hv-b");
  // An encoded sample snapshot of VM `vm_uuid` (uploads must be the migration's VM).
  static std::string snapshot_of(const std::string& vm_uuid, std::size_t vcpus = 1, bool binary = true);

  // The controller's clock (null: the system's). Set before SetUp() starts it.
  const TimeSource* time_source = nullptr;
  std::string data_dir;
  // MIGCLOCK_TEST_STORE=etcd runs the fixture's controller on a real etcd
  // (a process-wide member, one key prefix per test); else SQLite in data_dir.
  std::string etcd_endpoints, etcd_prefix;
  StoreOptions store_options() const;
  uint16_t port = 0;
  std::string read_token, write_token, agent_token;  // agent_token: --host hv-a
  std::map<std::string, std::string> host_tokens;      // host → agent token bound to it
  std::unique_ptr<App> app;
};

rapidjson::Document json(const net::Response& r);

}  // namespace migclock::controller::testing
