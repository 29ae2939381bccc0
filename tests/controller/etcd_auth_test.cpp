// etcd with authentication on, against a real etcd process: TLS client URLs
// with a user and password file (the store, the watch and the binary's
// flags), and an auth token etcd dropped is renewed.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "etcd_cluster.hpp"
#include "gateway.hpp"
#include "migclock/controller/etcd_store.hpp"
#include "migclock/net/client.hpp"
#include "net_test_support.hpp"

namespace migclock::controller::testing {
namespace {

// A root user with this password, and auth turned on (as the operator's
// `etcdctl user add / auth enable` would).
void enable_root_auth(net::Client& c, const std::string& password) {
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/v3/auth/user/add", R"({"name":"root","password":")" + password + R"("})"},
           {"/v3/auth/user/grant", R"({"user":"root","role":"root"})"},
           {"/v3/auth/enable", "{}"}}) {
    auto r = c.request("POST", path, body);
    ASSERT_TRUE(r.ok() && r->status == 200u) << path << ": " << (r.ok() ? r->body : r.error().message());
  }
}

// etcd with https:// client URLs and authentication on: the store speaks
// TLS (verifying the member's certificate) and logs in.
TEST(EtcdSecure, TlsEndpointsAndAUserWithPasswordFile) {
  if (EtcdCluster::binary().empty()) GTEST_SKIP() << EtcdCluster::missing_message();
  const auto& certs = migclock::testing::dev_certs();
  EtcdCluster etcd;
  ASSERT_EQ(etcd.start_tls(1, certs.cert, certs.key, certs.ca), "");
  ASSERT_EQ(etcd.endpoint(0).rfind("https://", 0), 0u);
  {
    net::Client c(net::ClientOptions(etcd.endpoint(0), certs.ca));
    ASSERT_NO_FATAL_FAILURE(enable_root_auth(c, "s3cret"));
  }
  const std::string dir = migclock::testing::make_temp_dir("migclock-etcd-auth");
  {
    FILE* f = std::fopen((dir + "/password").c_str(), "w");
    ASSERT_TRUE(f);
    std::fputs("s3cret\n", f);
    std::fclose(f);
  }
  StoreOptions so;
  so.kind = "etcd";
  so.etcd_endpoints = etcd.endpoints();
  so.etcd_prefix = "/secure";
  so.etcd_ca = certs.ca;
  // No user: etcd refuses.
  EXPECT_FALSE(open_store(so).ok());
  so.etcd_user = "root";
  so.etcd_password_file = dir + "/password";
  auto a = EtcdStore::open(etcd_options(so).value());
  ASSERT_TRUE(a.ok()) << a.error().message();
  auto b = EtcdStore::open(etcd_options(so).value());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->load(Table::hosts).ok());
  ASSERT_TRUE((*b)->load(Table::hosts).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Record> seen;
  ASSERT_TRUE((*b)->start_watch([&](const std::vector<Record>& r, const std::function<void()>& under_lock) {
                   under_lock();
                   std::lock_guard<std::mutex> l(mu);
                   seen.insert(seen.end(), r.begin(), r.end());
                   cv.notify_all();
                 }).ok());
  std::vector<Record> recs{Record{Table::hosts, "hv-s", R"({"hostname":"hv-s"})", {}}};
  (*a)->stage(recs);
  ASSERT_TRUE((*a)->commit(recs).ok());
  {
    std::unique_lock<std::mutex> l(mu);
    EXPECT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return !seen.empty(); }))
        << "the watch over TLS with the auth token brought nothing";
  }
  (*b)->stop_watch();
  // The flags of the binary: a token made over TLS with the user's password.
  const std::string cmd = std::string(MIGCLOCK_CONTROLLER_BIN) + " token create --store etcd --etcd-endpoints " +
                          etcd.endpoints() + " --etcd-prefix /secure --etcd-ca " + certs.ca +
                          " --etcd-user root --etcd-password-file " + dir + "/password --scope read 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_TRUE(p);
  char line[256] = {};
  const bool got = fgets(line, sizeof line, p) != nullptr;
  EXPECT_EQ(::pclose(p), 0) << line;
  EXPECT_TRUE(got);
  EXPECT_EQ((*a)->load(Table::tokens)->size(), 1u) << line;
  // A wrong password, and a CA that did not sign the member's certificate.
  {
    FILE* f = std::fopen((dir + "/wrong").c_str(), "w");
    std::fputs("nope\n", f);
    std::fclose(f);
  }
  StoreOptions wrong = so;
  wrong.etcd_password_file = dir + "/wrong";
  EXPECT_FALSE(open_store(wrong).ok());
  StoreOptions untrusted = so;
  untrusted.etcd_ca = "/etc/ssl/certs/ca-certificates.crt";
  EXPECT_FALSE(open_store(untrusted).ok());
  (void)std::system(("rm -rf " + dir).c_str());
}


// etcd refuses a token it no longer knows (simple tokens expire after 5
// minutes idle; turning auth off and on drops them all at once): the store
// logs in again and the request goes through, for writes and reads alike.
TEST(EtcdSecure, AnAuthTokenEtcdNoLongerKnowsIsRenewed) {
  if (EtcdCluster::binary().empty()) GTEST_SKIP() << EtcdCluster::missing_message();
  EtcdCluster cluster;
  ASSERT_EQ(cluster.start(1), "");
  net::Client admin(net::ClientOptions(cluster.endpoint(0)));
  auto post = [&](const std::string& path, const std::string& body,
                  const std::string& token = {}) -> std::string {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", token);
    auto r = admin.request("POST", path, body, "application/json", headers);
    EXPECT_TRUE(r.ok() && r->status == 200u) << path << ": " << (r.ok() ? r->body : r.error().message());
    return r.ok() ? r->body : std::string();
  };
  ASSERT_NO_FATAL_FAILURE(enable_root_auth(admin, "s3cret"));

  EtcdOptions o;
  o.endpoints = parse_etcd_endpoints(cluster.endpoints()).value();
  o.prefix = "/renew";
  o.user = "root";
  o.password = "s3cret";
  auto s = EtcdStore::open(o);
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto& store = **s;
  ASSERT_TRUE(store.load(Table::hosts).ok());
  auto put = [&](const std::string& name) {
    std::vector<Record> r{Record{Table::hosts, name, "{}", {}}};
    store.stage(r);
    return store.commit(r);
  };
  ASSERT_TRUE(put("before").ok());

  // Every token etcd issued is dropped, the store's included.
  auto login = etcd::parse(post("/v3/auth/authenticate", R"({"name":"root","password":"s3cret"})"));
  ASSERT_TRUE(login.ok());
  const std::string admin_token = etcd::str(*login, "token");
  ASSERT_FALSE(admin_token.empty());
  post("/v3/auth/disable", "{}", admin_token);
  post("/v3/auth/enable", "{}");
  // The store's old token is refused now (this is what the store meets).
  {
    auto stale = admin.request("POST", "/v3/kv/range", R"({"key":"AA=="})", "application/json",
                               {{"Authorization", admin_token}});
    ASSERT_TRUE(stale.ok());
    EXPECT_EQ(stale->status, 401u) << "etcd still takes a token issued before auth was turned off: " << stale->body;
  }

  auto after = put("after");
  EXPECT_TRUE(after.ok()) << "a write with a token etcd dropped: " << after.error().message();
  auto hosts = store.load(Table::hosts);
  ASSERT_TRUE(hosts.ok()) << hosts.error().message();
  EXPECT_EQ(hosts->size(), 2u);
  // A second drop, now met first by a read.
  login = etcd::parse(post("/v3/auth/authenticate", R"({"name":"root","password":"s3cret"})"));
  ASSERT_TRUE(login.ok());
  post("/v3/auth/disable", "{}", etcd::str(*login, "token"));
  post("/v3/auth/enable", "{}");
  auto got = store.get(Table::hosts, "after");
  ASSERT_TRUE(got.ok()) << "a read with a token etcd dropped: " << got.error().message();
  EXPECT_TRUE(got->has_value());
}


}  // namespace
}  // namespace migclock::controller::testing
