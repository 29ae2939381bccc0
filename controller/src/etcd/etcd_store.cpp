// EtcdStore's connection to etcd (etcd_store.hpp): open(), the pool of
// keep-alive clients, call() with failover across the endpoints, the auth
// token, and the --store options. The rest of the store is split by
// responsibility: etcd_commit.cpp (writes), etcd_reads.cpp (reads and the
// cache's known revisions), etcd_watch.cpp (following other controllers).
#include "migclock/controller/etcd_store.hpp"

#include <cerrno>
#include <cstdio>

#include "etcd_store_internal.hpp"
#include "gateway.hpp"
#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"
#include "stream.hpp"

namespace migclock::controller {

using namespace etcd;  // gateway.hpp: the JSON gateway's helpers

Result<std::vector<std::string>> parse_etcd_endpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    std::string one = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    one.erase(0, one.find_first_not_of(" \t"));
    one.erase(one.find_last_not_of(" \t") + 1);
    if (!one.empty()) {
      std::string h, p;
      bool tls = false;
      if (!etcd::split_endpoint(one, h, p, tls))
        return make_error(errc::invalid_argument, "etcd endpoint '" + one + "': expected http://HOST:PORT or https://HOST:PORT");
      while (!one.empty() && one.back() == '/') one.pop_back();
      out.push_back(one);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty()) return make_error(errc::invalid_argument, "--etcd-endpoints: no endpoint given");
  return out;
}

// Idle keep-alive clients per endpoint (net::Client is one per thread).
struct EtcdStore::Pool {
  std::mutex mutex;
  std::vector<std::vector<std::unique_ptr<net::Client>>> idle;
};

EtcdStore::EtcdStore(EtcdOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()), stream_(std::make_unique<Stream>()) {
  pool_->idle.resize(options_.endpoints.size());
  while (!options_.prefix.empty() && options_.prefix.back() == '/') options_.prefix.pop_back();
}

EtcdStore::~EtcdStore() { stop_watch(); }

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(EtcdOptions options) {
  if (options.endpoints.empty()) return make_error(errc::invalid_argument, "etcd store: no endpoints");
  std::unique_ptr<EtcdStore> s(new EtcdStore(std::move(options)));
  // Any answer will do: the store is reachable.
  auto r = s->call("/v3/kv/range", "{\"key\":\"" + b64(s->options_.prefix + "/") + "\",\"count_only\":true}");
  if (!r) return r.error();
  return s;
}

std::string EtcdStore::key_of(Table t, const std::string& key) const {
  return options_.prefix + "/" + table_name(t) + "/" + key;
}

Result<std::string> EtcdStore::call_once(std::size_t ep, const std::string& path, const std::string& body,
                                         bool& maybe_applied) {
  std::unique_ptr<net::Client> client;
  {
    std::lock_guard<std::mutex> lock(pool_->mutex);
    auto& idle = pool_->idle[ep];
    if (!idle.empty()) {
      client = std::move(idle.back());
      idle.pop_back();
    }
  }
  if (!client) {
    net::ClientOptions o(options_.endpoints[ep], options_.ca_file);
    o.cert_file = options_.cert_file;
    o.key_file = options_.key_file;
    o.timeout = options_.timeout;
    o.max_response_bytes = 256u << 20;
    client = std::make_unique<net::Client>(o);
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!options_.user.empty() && path != "/v3/auth/authenticate") {
    std::lock_guard<std::mutex> lock(auth_mutex_);
    headers.emplace_back("Authorization", auth_token_);
  }
  auto r = client->request("POST", path, body, "application/json", headers);
  if (!r) {
    // Connection refused: not sent. Anything later: it may have been applied.
    if (r.error().message().find("connect") == std::string::npos) maybe_applied = true;
    return r.error();
  }
  {
    std::lock_guard<std::mutex> lock(pool_->mutex);
    pool_->idle[ep].push_back(std::move(client));
  }
  if (r->status == 200) return std::move(r->body);
  if (r->status == 401)  // no or an expired auth token: nothing was applied
    return make_error(errc::not_found, "etcd " + options_.endpoints[ep] + path + ": HTTP 401 " + r->body.substr(0, 200));
  // 503 no leader / leader changed / request timed out: the next member may do.
  if (r->status >= 500) {
    maybe_applied = true;
    return make_error(errc::unavailable, "etcd " + options_.endpoints[ep] + path + ": HTTP " +
                                             std::to_string(r->status) + " " + r->body.substr(0, 300));
  }
  return make_error(errc::invalid_argument, "etcd " + options_.endpoints[ep] + path + ": HTTP " +
                                                std::to_string(r->status) + " " + r->body.substr(0, 300));
}

Result<std::string> EtcdStore::auth_token(bool renew) {
  {
    std::lock_guard<std::mutex> lock(auth_mutex_);
    if (!renew && !auth_token_.empty()) return auth_token_;
  }
  net::JsonWriter w;
  w.begin_object().key("name").value(options_.user).key("password").value(options_.password).end_object();
  auto answer = call("/v3/auth/authenticate", w.str());
  if (!answer) return answer.error();
  auto doc = parse(*answer);
  if (!doc) return doc.error();
  std::string token = str(*doc, "token");
  if (token.empty()) return make_error(errc::invalid_argument, "etcd auth: no token for user '" + options_.user + "'");
  std::lock_guard<std::mutex> lock(auth_mutex_);
  auth_token_ = token;
  return token;
}

Result<std::string> EtcdStore::call(const std::string& path, const std::string& body) {
  bool authed = options_.user.empty() || path == "/v3/auth/authenticate";
  if (!authed) {
    std::lock_guard<std::mutex> lock(auth_mutex_);
    authed = !auth_token_.empty();
  }
  if (!authed) {
    auto t = auth_token(false);
    if (!t) return t.error();
  }
  bool maybe_applied = false;
  const std::size_t n = options_.endpoints.size();
  Error last = make_error(errc::unavailable, "etcd: no endpoint");
  // Two rounds over the endpoints: a member that lost its leader answers
  // 503 for the election's length.
  for (std::size_t round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t ep = (current_.load() + i) % n;
      auto r = call_once(ep, path, body, maybe_applied);
      if (r) {
        current_.store(ep);
        return r;
      }
      last = r.error();
      if (r.error().code == make_error_code(errc::not_found) && !options_.user.empty() &&
          path != "/v3/auth/authenticate" && round == 0 && i == 0) {
        // The token expired (etcd's simple tokens live 5 min): once more with a new one.
        auto t = auth_token(true);
        if (!t) return t.error();
        r = call_once(ep, path, body, maybe_applied);
        if (r) {
          current_.store(ep);
          return r;
        }
        last = r.error();
      }
      if (r.error().code != make_error_code(errc::unavailable) && r.error().code != make_error_code(errc::timeout))
        return r;
    }
    if (round == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return make_error(errc::unavailable, "etcd unreachable on every endpoint: " + last.message());
}

Result<EtcdOptions> etcd_options(const StoreOptions& o) {
  auto eps = parse_etcd_endpoints(o.etcd_endpoints);
  if (!eps) return eps.error();
  EtcdOptions eo;
  eo.endpoints = std::move(*eps);
  eo.prefix = o.etcd_prefix;
  eo.ca_file = o.etcd_ca;
  eo.cert_file = o.etcd_cert;
  eo.key_file = o.etcd_key.empty() ? o.etcd_cert : o.etcd_key;
  eo.user = o.etcd_user;
  if (!o.etcd_user.empty()) {
    if (o.etcd_password_file.empty())
      return make_error(errc::invalid_argument, "--etcd-user needs --etcd-password-file");
    FILE* f = std::fopen(o.etcd_password_file.c_str(), "r");
    if (!f) return errno_error(errno, "open " + o.etcd_password_file);
    char buf[1024];
    std::size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    eo.password.assign(buf, n);
    while (!eo.password.empty() && (eo.password.back() == '\n' || eo.password.back() == '\r')) eo.password.pop_back();
  }
  return eo;
}

Result<std::unique_ptr<Store>> open_store(const StoreOptions& o) {
  if (o.kind == "sqlite") {
    if (o.data_dir.empty()) return make_error(errc::invalid_argument, "--data-dir is required with --store sqlite");
    return open_sqlite_store(o.data_dir);
  }
  if (o.kind == "etcd") {
    auto eo = etcd_options(o);
    if (!eo) return eo.error();
    auto s = EtcdStore::open(std::move(*eo));
    if (!s) return s.error();
    return std::unique_ptr<Store>(std::move(*s));
  }
  return make_error(errc::invalid_argument, "--store must be sqlite or etcd, not '" + o.kind + "'");
}

}  // namespace migclock::controller
