#include "fixture.hpp"

#include "etcd_cluster.hpp"

#include "migclock/serialization/snapshot_io.hpp"
#include "snapshot_fixtures.hpp"

namespace migclock::controller::testing {

using migclock::testing::dev_certs;

namespace {
// MIGCLOCK_TEST_STORE=etcd without an etcd binary: every test skips, saying why.
struct EtcdEnvironment : ::testing::Environment {
  void SetUp() override {
    std::string why;
    if (!shared_etcd(why)) GTEST_SKIP() << "MIGCLOCK_TEST_STORE=etcd: " << why;
  }
};
const bool etcd_environment = [] {
  const char* s = std::getenv("MIGCLOCK_TEST_STORE");
  if (s && std::string(s) == "etcd") ::testing::AddGlobalTestEnvironment(new EtcdEnvironment);
  return true;
}();
}  // namespace

void ControllerFixture::SetUp() {
  data_dir = migclock::testing::make_temp_dir("migclock-ctl");
  if (const char* s = std::getenv("MIGCLOCK_TEST_STORE"); s && std::string(s) == "etcd") {
    std::string why;
    EtcdCluster* etcd = shared_etcd(why);
    if (!etcd) GTEST_SKIP() << "MIGCLOCK_TEST_STORE=etcd: " << why;
    etcd_endpoints = etcd->endpoints();
    etcd_prefix = unique_etcd_prefix();
  }
  read_token = create_token(store_options(), Scope::read, "test").value();
  write_token = create_token(store_options(), Scope::write, "test").value();
  agent_token = create_token(store_options(), Scope::agent, "test", "hv-a").value();
  host_tokens = {{"hv-a", agent_token}};
  start();
}

void ControllerFixture::TearDown() {
  stop();
  std::string cmd = "rm -rf " + data_dir;
  (void)std::system(cmd.c_str());
}

void ControllerFixture::start(int64_t phase_timeout_s) {
  AppOptions o;
  o.listen = "127.0.0.1:" + std::to_string(port);  // same port on restart
  o.data_dir = data_dir;
  if (!etcd_endpoints.empty()) {
    o.store = "etcd";
    o.etcd_endpoints = etcd_endpoints;
    o.etcd_prefix = etcd_prefix;
  }
  o.tls_cert = dev_certs().cert;
  o.tls_key = dev_certs().key;
  o.phase_timeout_s = phase_timeout_s;
  o.read_timeout_ms = 500;
  o.reaper_interval_ms = 50;
  app = std::make_unique<App>(o, time_source ? *time_source : SystemTimeSource::instance());
  auto p = app->start();
  ASSERT_TRUE(p.ok()) << p.error().message();
  port = *p;
}

void ControllerFixture::stop() {
  if (app) app->stop();
  app.reset();
}

StoreOptions ControllerFixture::store_options() const {
  StoreOptions so;
  so.data_dir = data_dir;
  if (!etcd_endpoints.empty()) {
    so.kind = "etcd";
    so.etcd_endpoints = etcd_endpoints;
    so.etcd_prefix = etcd_prefix;
  }
  return so;
}

net::Client ControllerFixture::client(const std::string& token) const {
  return net::Client(net::ClientOptions(url(), dev_certs().ca, token));
}

net::Response ControllerFixture::as(const std::string& token, const std::string& method, const std::string& target,
                                    const std::string& body, const std::string& content_type) const {
  auto c = client(token);
  auto r = c.request(method, target, body, content_type);
  EXPECT_TRUE(r.ok()) << method << " " << target << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : net::Response{};
}

std::string ControllerFixture::token_for(const std::string& host) {
  auto it = host_tokens.find(host);
  if (it != host_tokens.end()) return it->second;
  // Made while the controller runs, as operators do: found on first use.
  auto t = create_token(store_options(), Scope::agent, "test-" + host, host);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  return host_tokens[host] = t.ok() ? *t : "";
}

net::Response ControllerFixture::agent_of(const std::string& host, const std::string& m, const std::string& t,
                                          const std::string& b) {
  return as(token_for(host), m, t, b);
}

void ControllerFixture::register_host(const std::string& name, uint32_t tsc_khz, const std::string& vms_json,
                                      const std::string& extra) {
  std::string body = R"({"hostname":")" + name + R"(","boot_id":"b-)" + name + R"(","agent_version":"0.1.0","tsc_khz":)" +
                     std::to_string(tsc_khz) + R"(,"scaling_supported":false,"clocksource":"tsc",)" + extra +
                     R"(,"vms":)" + vms_json + "}";
  auto r = agent_of(name, "PUT", "/api/v1/hosts/" + name, body);
  ASSERT_EQ(r.status, 200u) << r.body;
}

std::string ControllerFixture::announce(const std::string& vm_uuid, const std::string& source,
                                        const std::string& destination) {
  auto r = agent_of(source, "POST", "/api/v1/migrations",
                 R"({"vm_uuid":")" + vm_uuid + R"(","vm_name":"n-)" + vm_uuid + R"(","source":")" + source +
                     R"(","destination":")" + destination + R"(","kind":"live"})");
  EXPECT_TRUE(r.status == 201u || r.status == 200u) << r.body;
  auto d = json(r);
  return d.IsObject() && d.HasMember("id") ? d["id"].GetString() : "";
}

std::string ControllerFixture::snapshot_of(const std::string& vm_uuid, std::size_t vcpus, bool binary) {
  auto s = serialization::testing::sample_snapshot(vcpus);
  s.vm.uuid = vm_uuid;
  return serialization::encode(s, binary ? serialization::Format::binary : serialization::Format::json).value();
}

rapidjson::Document json(const net::Response& r) {
  auto d = net::parse_any(r.body, 64);
  EXPECT_TRUE(d.ok()) << "not JSON: " << r.body.substr(0, 200);
  if (!d.ok()) return rapidjson::Document{};
  return std::move(d).value();
}

}  // namespace migclock::controller::testing
