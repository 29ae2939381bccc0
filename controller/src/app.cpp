#include "migclock/controller/app.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "migclock/common/text_guard.hpp"
#include "migclock/controller/api.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/controller/etcd_leader.hpp"
#include "migclock/controller/etcd_store.hpp"
#include "migclock/controller/journal.hpp"
#include "migclock/controller/metrics.hpp"
#include "migclock/controller/waiters.hpp"
#include "migclock/net/listen_address.hpp"
#include "migclock/net/server.hpp"

namespace migclock::controller {

struct App::Impl {
  DataDirLock dir_lock;  // first member: released after the store has closed
  AppOptions options;
  const TimeSource& time;
  std::unique_ptr<Store> store;
  Metrics metrics;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<Core> core;
  std::unique_ptr<Waiters> waiters;
  std::unique_ptr<Api> api;
  std::unique_ptr<net::Server> server;
  std::unique_ptr<EtcdLeader> leader;  // etcd: only the lease holder sweeps
  std::thread reaper;
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;

  Impl(AppOptions o, const TimeSource& t) : options(std::move(o)), time(t) {}

  // Phase timeouts: checked against the persisted last-change time, so a
  // restarted controller resumes the countdown where it was.
  void reap_loop() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
      lock.unlock();
      const bool sweeps = !leader || leader->is_leader();
      for (auto& a : sweeps ? core->expire(time.realtime_ns()) : std::vector<Applied<Migration>>{}) {
        spdlog::warn("migration {} degraded: {}", a.value.id, a.value.reason);
        journal->when_committed(a.seq, [this, wake = a.wake, outcome = a.outcome](const Status& st) {
          if (st.ok()) metrics.count_outcome(outcome);
          else spdlog::error("journal: {}", st.error().message());
          for (const auto& k : wake) waiters->notify(k);  // watchers answer either way (503 on failure)
        });
      }
      if (sweeps && options.retention_h > 0) {
        auto gone = core->retire(time.realtime_ns(), options.retention_h * 3'600'000'000'000);
        if (gone.value > 0)
          journal->when_committed(gone.seq, [n = gone.value](const Status& st) {
            if (st.ok()) spdlog::info("retention: deleted {} finished migration(s)", n);
          });
      }
      lock.lock();
      cv.wait_for(lock, std::chrono::milliseconds(options.reaper_interval_ms), [&] { return stopping; });
    }
  }
};

App::App(AppOptions options, const TimeSource& time) : impl_(std::make_unique<Impl>(std::move(options), time)) {}
App::~App() { stop(); }
Core& App::core() { return *impl_->core; }
std::vector<net::RouteInfo> App::routes() const { return impl_->api->router().routes(); }

Result<uint16_t> App::start() {
  auto& o = impl_->options;
  const bool shared = o.store == "etcd";
  if (!shared && o.data_dir.empty()) return make_error(errc::invalid_argument, "--data-dir is required");
  auto hp = net::parse_host_port(o.listen);
  if (!hp) return hp.error();
  if (o.plain_http && !net::is_loopback_host(hp->host))
    return make_error(errc::invalid_argument, "--plain-http is only allowed on a loopback address, not " + hp->host);
  if (!o.plain_http && (o.tls_cert.empty() || o.tls_key.empty()))
    return make_error(errc::invalid_argument, "--tls-cert and --tls-key are required (or --plain-http on loopback)");
  if (!shared) MIGCLOCK_TRY(impl_->dir_lock.acquire(o.data_dir));
  auto store = open_store(StoreOptions{o.store, o.data_dir, o.etcd_endpoints, o.etcd_prefix, o.etcd_ca, o.etcd_cert,
                                      o.etcd_key, o.etcd_user, o.etcd_password_file});
  if (!store) return store.error();
  impl_->store = std::move(*store);
  impl_->journal = std::make_unique<Journal>(*impl_->store, &impl_->metrics);
  CoreOptions co;
  co.phase_timeout_ns = o.phase_timeout_s * 1'000'000'000;
  impl_->core = std::make_unique<Core>(*impl_->store, *impl_->journal, impl_->time, co);
  MIGCLOCK_TRY(impl_->core->load());
  impl_->waiters = std::make_unique<Waiters>();
  impl_->api = std::make_unique<Api>(*impl_->core, *impl_->journal, *impl_->waiters, impl_->metrics);
  if (auto* etcd = dynamic_cast<EtcdStore*>(impl_->store.get())) {
    // Other controllers' changes: into the cache, then wake their watchers.
    Core* core = impl_->core.get();
    Waiters* waiters = impl_->waiters.get();
    MIGCLOCK_TRY(etcd->start_watch([core, waiters](const std::vector<Record>& records, const std::function<void()>& under_lock) {
      for (const auto& key : core->apply_remote(records, under_lock)) waiters->notify(key);
    }));
  }

  net::ServerOptions so;
  so.threads = o.threads;
  so.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
  so.server_header = "migclock-controller/" MIGCLOCK_VERSION;
  Api* api = impl_->api.get();
  so.body_limit_for = [api](const std::string& m, const std::string& p) { return api->body_limit_for(m, p); };
  so.refuse_before_body = [api](const net::Request& head) { return api->refuse_before_body(head); };
  Metrics* metrics = &impl_->metrics;
  so.on_handler_exception = [metrics](const std::string& request, const std::string& what) {
    spdlog::error("{}: handler threw: {} (answered 500)", log_safe(request), log_safe(what, 1024));
    metrics->count_handler_exception();
  };
  impl_->server = std::make_unique<net::Server>(so, [api](net::Request&& r, net::Responder out) {
    api->handle(std::move(r), std::move(out));
  });
  auto port = o.plain_http ? impl_->server->listen_plain(hp->host, hp->port)
                           : impl_->server->listen_tls(hp->host, hp->port, {o.tls_cert, o.tls_key});
  if (!port) return port.error();
  MIGCLOCK_TRY(impl_->server->start());
  if (auto* etcd = dynamic_cast<EtcdStore*>(impl_->store.get())) {
    impl_->leader = std::make_unique<EtcdLeader>(*etcd, o.listen + " port " + std::to_string(*port) + " pid " +
                                                            std::to_string(::getpid()),
                                                 o.leader_ttl_s);
    impl_->leader->start();
    // Read at scrape time; the server is stopped before the leader goes.
    impl_->metrics.set_sweeper_lease([leader = impl_->leader.get()] { return leader->is_leader(); });
  }
  impl_->reaper = std::thread([this] { impl_->reap_loop(); });
  impl_->api->ready = true;
  return *port;
}

void App::stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->reaper.joinable()) impl_->reaper.join();
  if (impl_->leader) impl_->leader->stop();  // revokes the lease: another controller sweeps at once
  if (auto* etcd = dynamic_cast<EtcdStore*>(impl_->store.get())) etcd->stop_watch();
  if (impl_->api) impl_->api->ready = false;
  if (impl_->waiters) impl_->waiters->stop();  // answers long polls before the server goes
  if (impl_->journal) impl_->journal->stop();  // commits (and acknowledges) what is queued
  if (impl_->server) impl_->server->stop();
}

Result<std::string> create_token(const std::string& data_dir, Scope scope, const std::string& label,
                                 const std::string& host, const TimeSource& time) {
  StoreOptions so;
  so.data_dir = data_dir;
  return create_token(so, scope, label, host, time);
}

Result<std::string> create_token(const StoreOptions& so, Scope scope, const std::string& label,
                                 const std::string& host, const TimeSource& time) {
  if (!host.empty() && scope != Scope::agent)
    return make_error(errc::invalid_argument, "--host binds agent tokens only; read and write tokens act for no host");
  if (!host.empty() && !valid_name(host))
    return make_error(errc::invalid_argument, "--host '" + host + "' is not a host name (1..253 of A-Z a-z 0-9 . - _)");
  auto store = open_store(so);
  if (!store) return store.error();
  auto secret = generate_token_secret();
  if (!secret) return secret.error();
  Token t;
  t.hash = sha256_hex(*secret);
  t.scope = scope;
  t.created_ns = time.realtime_ns();
  t.label = label;
  t.host = host;
  MIGCLOCK_TRY((*store)->commit({Core::token_record(t)}));
  return *secret;
}

}  // namespace migclock::controller
