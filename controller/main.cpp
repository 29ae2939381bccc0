// migclock-controller: the cluster service (docs/controller.md).
//
//   migclock-controller --listen HOST:PORT --data-dir DIR --tls-cert PEM --tls-key PEM
//   (under systemd: TLS files from $CREDENTIALS_DIRECTORY, journal in $STATE_DIRECTORY)
//   migclock-controller --listen 127.0.0.1:8080 --data-dir DIR --plain-http
//   migclock-controller token create --data-dir DIR --scope read|write|agent [--label TEXT]
#include <signal.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "migclock/common/parse_int.hpp"
#include "migclock/controller/app.hpp"
#include "migclock/controller/etcd_store.hpp"
#include "migclock/controller/store_copy.hpp"

using namespace migclock;
using namespace migclock::controller;

namespace {

const char* kUsage =
    "Usage:\n"
    "  migclock-controller --listen HOST:PORT --data-dir DIR --tls-cert PEM --tls-key PEM [options]\n"
    "  migclock-controller --listen 127.0.0.1:PORT --data-dir DIR --plain-http [options]\n"
    "  migclock-controller token create --data-dir DIR --scope read|write [--label TEXT] [--json]\n"
    "  migclock-controller token create --data-dir DIR --scope agent --host NAME [--label TEXT] [--json]\n"
    "                          (an agent token acts for host NAME only)\n"
    "  migclock-controller store copy --from sqlite:DIR --to etcd:URL,... [--etcd-prefix P]\n"
    "                          (stop the controllers first; DIR is locked meanwhile)\n"
    "  (every form: --store etcd --etcd-endpoints URL,... instead of --data-dir)\n"
    "\n"
    "Serves the migclock API (docs/api.md) over HTTPS; the journal is SQLite (WAL)\n"
    "in DIR/controller.db. Every state change is committed before it is acknowledged.\n"
    "\n"
    "Options:\n"
    "  --listen HOST:PORT      address to listen on (default 127.0.0.1:8443)\n"
    "  --data-dir DIR          journal directory (required with --store sqlite; systemd: $STATE_DIRECTORY)\n"
    "  --store sqlite|etcd     where the state lives (default sqlite: DIR/controller.db, one\n"
    "                          controller); etcd: shared by several controllers (docs/controller.md)\n"
    "  --etcd-endpoints LIST   etcd members, http(s)://HOST:PORT,... (tried in turn)\n"
    "  --etcd-ca PEM           CA for https:// members (default: the system's)\n"
    "  --etcd-cert PEM --etcd-key PEM  client certificate for members with --client-cert-auth\n"
    "  --etcd-user NAME --etcd-password-file FILE  etcd authentication\n"
    "  --etcd-prefix PREFIX    key prefix in etcd (default /migclock)\n"
    "  --leader-ttl-s N        etcd: one controller sweeps phase timeouts, elected with a lease of\n"
    "                          N s; another takes over within N s of its death (default 5)\n"
    "  --retention-h N         delete migrations (and snapshots) N h after they ended (default 0: keep)\n"
    "  --tls-cert PEM          server certificate chain (default: $CREDENTIALS_DIRECTORY/tls.crt if set)\n"
    "  --tls-key PEM           server private key (default: $CREDENTIALS_DIRECTORY/tls.key if set)\n"
    "  --plain-http            plain HTTP instead of TLS; only on a loopback address\n"
    "  --threads N             io threads (default 2: one per core)\n"
    "  --phase-timeout-s N     a migration with no phase change for N s ends degraded (default 600)\n"
    "  --read-timeout-ms N     TLS handshake / whole-request deadline, from the request's\n"
    "                          first byte; late requests get 408 (default 10000)\n"
    "  --log-level LEVEL       trace|debug|info|warn|error (default info)\n"
    "  --help                  this text\n";

// systemd's LoadCredential= puts root-only files where the service user
// (DynamicUser) can read them: $CREDENTIALS_DIRECTORY/tls.crt and tls.key
// stand in for flags not given.
void tls_from_credentials(AppOptions& o) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (o.plain_http || !dir || !*dir) return;
  if (o.tls_cert.empty()) o.tls_cert = std::string(dir) + "/tls.crt";
  if (o.tls_key.empty()) o.tls_key = std::string(dir) + "/tls.key";
}

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "migclock-controller: %s\n\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

int64_t to_int(const std::string& flag, const std::string& v) {
  const auto n = parse_int(v, 0);
  if (!n) usage_error(flag + " needs a non-negative integer, got '" + v + "'");
  return *n;
}

// The etcd connection flags shared by serve, token create and store copy.
bool etcd_flag(const std::string& a, const std::function<std::string()>& next, StoreOptions& so) {
  if (a == "--etcd-ca") so.etcd_ca = next();
  else if (a == "--etcd-cert") so.etcd_cert = next();
  else if (a == "--etcd-key") so.etcd_key = next();
  else if (a == "--etcd-user") so.etcd_user = next();
  else if (a == "--etcd-password-file") so.etcd_password_file = next();
  else return false;
  return true;
}

int token_main(const std::vector<std::string>& args) {
  std::string scope_s, label, host;
  StoreOptions so;
  bool json = false;
  if (args.empty() || args[0] != "create") usage_error("token: the only verb is 'create'");
  for (size_t i = 1; i < args.size(); ++i) {
    auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) usage_error(args[i] + " needs a value");
      return args[++i];
    };
    if (args[i] == "--data-dir") so.data_dir = next();
    else if (args[i] == "--store") so.kind = next();
    else if (args[i] == "--etcd-endpoints") so.etcd_endpoints = next();
    else if (args[i] == "--etcd-prefix") so.etcd_prefix = next();
    else if (etcd_flag(args[i], next, so)) {}
    else if (args[i] == "--scope") scope_s = next();
    else if (args[i] == "--label") label = next();
    else if (args[i] == "--host") host = next();
    else if (args[i] == "--json") json = true;
    else if (args[i] == "--help") { std::fputs(kUsage, stdout); return 0; }
    else usage_error("unknown option " + args[i]);
  }
  if (so.kind != "sqlite" && so.kind != "etcd") usage_error("--store must be sqlite or etcd");
  if (so.kind == "sqlite" && so.data_dir.empty()) usage_error("token create: --data-dir is required");
  if (so.kind == "etcd" && so.etcd_endpoints.empty()) usage_error("token create: --store etcd needs --etcd-endpoints");
  auto scope = scope_from(scope_s);
  if (!scope) usage_error("token create: --scope must be read, write or agent");
  if (*scope == Scope::agent && host.empty())
    usage_error("token create: --scope agent needs --host NAME (an agent token acts for that one host)");
  if (*scope != Scope::agent && !host.empty()) usage_error("token create: --host is for --scope agent only");
  auto secret = create_token(so, *scope, label, host);
  if (!secret) {
    std::fprintf(stderr, "migclock-controller: %s\n", secret.error().message().c_str());
    return 1;
  }
  if (json && !host.empty())
    std::printf("{\"token\":\"%s\",\"scope\":\"%s\",\"host\":\"%s\"}\n", secret->c_str(), scope_name(*scope),
                host.c_str());
  else if (json) std::printf("{\"token\":\"%s\",\"scope\":\"%s\"}\n", secret->c_str(), scope_name(*scope));
  else std::printf("%s\n", secret->c_str());
  return 0;
}

int store_main(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "copy") usage_error("store: the only verb is 'copy'");
  std::string from_s, to_s, prefix = "/migclock";
  StoreOptions etcd;  // the connection flags
  for (size_t i = 1; i < args.size(); ++i) {
    auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) usage_error(args[i] + " needs a value");
      return args[++i];
    };
    if (args[i] == "--from") from_s = next();
    else if (args[i] == "--to") to_s = next();
    else if (args[i] == "--etcd-prefix") prefix = next();
    else if (etcd_flag(args[i], next, etcd)) {}
    else usage_error("unknown option " + args[i]);
  }
  if (from_s.empty() || to_s.empty()) usage_error("store copy: --from and --to are required");
  auto from_o = parse_store_spec(from_s, prefix);
  auto to_o = parse_store_spec(to_s, prefix);
  if (!from_o) usage_error(from_o.error().message());
  if (!to_o) usage_error(to_o.error().message());
  for (StoreOptions* o : {&*from_o, &*to_o}) {
    o->etcd_ca = etcd.etcd_ca;
    o->etcd_cert = etcd.etcd_cert;
    o->etcd_key = etcd.etcd_key;
    o->etcd_user = etcd.etcd_user;
    o->etcd_password_file = etcd.etcd_password_file;
  }
  // A running controller on a SQLite side would change it under the copy.
  DataDirLock from_lock, to_lock;
  for (auto [o, lock] : {std::pair{&*from_o, &from_lock}, std::pair{&*to_o, &to_lock}}) {
    if (o->kind != "sqlite") continue;
    if (auto st = lock->acquire(o->data_dir); !st.ok()) {
      std::fprintf(stderr, "migclock-controller: %s\n", st.error().message().c_str());
      return 1;
    }
  }
  auto from = open_store(*from_o);
  auto to = from ? open_store(*to_o) : Result<std::unique_ptr<Store>>(from.error());
  if (!from || !to) {
    std::fprintf(stderr, "migclock-controller: %s\n", (!from ? from.error() : to.error()).message().c_str());
    return 1;
  }
  auto counts = copy_store(**from, **to);
  if (!counts) {
    std::fprintf(stderr, "migclock-controller: store copy: %s\n", counts.error().message().c_str());
    return 1;
  }
  for (const auto& [table, n] : counts->per_table) std::printf("%s %zu\n", table.c_str(), n);
  std::printf("copied %zu records (%zu snapshot bytes)\n", counts->records, counts->snapshot_bytes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "token") return token_main({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "store") return store_main({args.begin() + 1, args.end()});
  AppOptions o;
  StoreOptions serve_etcd;  // the etcd connection flags
  for (size_t i = 0; i < args.size(); ++i) {
    auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) usage_error(args[i] + " needs a value");
      return args[++i];
    };
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") { std::fputs(kUsage, stdout); return 0; }
    else if (a == "--listen") o.listen = next();
    else if (a == "--data-dir") o.data_dir = next();
    else if (a == "--store") o.store = next();
    else if (a == "--etcd-endpoints") o.etcd_endpoints = next();
    else if (a == "--etcd-prefix") o.etcd_prefix = next();
    else if (etcd_flag(a, next, serve_etcd)) {}
    else if (a == "--leader-ttl-s") o.leader_ttl_s = std::max<int64_t>(2, to_int(a, next()));
    else if (a == "--retention-h") o.retention_h = to_int(a, next());
    else if (a == "--tls-cert") o.tls_cert = next();
    else if (a == "--tls-key") o.tls_key = next();
    else if (a == "--plain-http") o.plain_http = true;
    else if (a == "--threads") o.threads = static_cast<size_t>(std::max<int64_t>(1, to_int(a, next())));
    else if (a == "--phase-timeout-s") o.phase_timeout_s = std::max<int64_t>(1, to_int(a, next()));
    else if (a == "--read-timeout-ms") o.read_timeout_ms = std::max<int64_t>(10, to_int(a, next()));
    else if (a == "--log-level") {
      // spdlog maps an unknown name to "off": a typo would silence the log.
      const std::string lv = next();
      const auto level = spdlog::level::from_str(lv);
      if (level == spdlog::level::off && lv != "off")
        usage_error("--log-level must be trace, debug, info, warn, error, critical or off, not '" + lv + "'");
      spdlog::set_level(level);
    }
    else usage_error("unknown option " + a);
  }
  o.etcd_ca = serve_etcd.etcd_ca;
  o.etcd_cert = serve_etcd.etcd_cert;
  o.etcd_key = serve_etcd.etcd_key;
  o.etcd_user = serve_etcd.etcd_user;
  o.etcd_password_file = serve_etcd.etcd_password_file;
  tls_from_credentials(o);
  if (o.store != "sqlite" && o.store != "etcd") usage_error("--store must be sqlite or etcd, not '" + o.store + "'");
  if (o.store == "etcd" && o.etcd_endpoints.empty()) usage_error("--store etcd needs --etcd-endpoints");
  if (o.store == "sqlite" && o.data_dir.empty()) {
    if (const char* sd = std::getenv("STATE_DIRECTORY")) o.data_dir = sd;
    else usage_error("--data-dir is required");
  }
  // Signals are taken synchronously by this thread; block them before any
  // thread starts so none inherits them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  App app(o);
  auto port = app.start();
  if (!port) {
    spdlog::error("{}", port.error().message());
    return 1;
  }
  spdlog::info("migclock-controller {} listening on {} port {} ({}), journal {}", MIGCLOCK_VERSION, o.listen, *port,
               o.plain_http ? "plain HTTP" : "TLS",
               o.store == "etcd" ? "etcd " + o.etcd_endpoints + " " + o.etcd_prefix : o.data_dir + "/controller.db");
  std::printf("listening port=%u\n", *port);
  std::fflush(stdout);
  sd_notify(0, "READY=1\nSTATUS=serving");
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: stopping", sig);
  sd_notify(0, "STOPPING=1");
  app.stop();
  return 0;
}
