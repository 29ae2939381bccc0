// migclock-bench-controller: load generator printing JSON.
//
//   migclock-bench-controller get|records --server URL --token T --ca PEM
//       [--connections N] [--duration-s S] [--path /api/v1/hosts/hv-a]
//   migclock-bench-controller get|records --self [--plain] ...  (starts an
//       in-process controller on a temp dir with 2 io threads)
//
// get:     keep-alive GETs on N connections; throughput and latency
//          percentiles.
// records: each request announces a new migration (POST /api/v1/migrations,
//          answered only after its SQLite commit): acknowledged records/s.
// Loopback only; bounded by --duration-s.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "migclock/controller/app.hpp"
#include "migclock/net/client.hpp"

using namespace migclock;

namespace {

struct Options {
  std::string mode;
  std::string server, token, ca;
  int connections = 8;
  double duration_s = 10;
  std::string path = "/api/v1/hosts/hv-a";
  bool self = false;
  bool plain = false;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: migclock-bench-controller get|records (--server URL --token T [--ca PEM] | --self [--plain] "
               "[--certs DIR]) [--connections N] [--duration-s S] [--path P]\n");
  std::exit(code);
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string certs;
  std::vector<std::string> a(argv + 1, argv + argc);
  for (size_t i = 0; i < a.size(); ++i) {
    auto next = [&] {
      if (i + 1 >= a.size()) usage(2);
      return a[++i];
    };
    if (a[i] == "--help") usage(0);
    else if (a[i] == "--server") o.server = next();
    else if (a[i] == "--token") o.token = next();
    else if (a[i] == "--ca") o.ca = next();
    else if (a[i] == "--connections") o.connections = std::max(1, std::atoi(next().c_str()));
    else if (a[i] == "--duration-s") o.duration_s = std::min(120.0, std::max(0.5, std::atof(next().c_str())));
    else if (a[i] == "--path") o.path = next();
    else if (a[i] == "--self") o.self = true;
    else if (a[i] == "--plain") o.plain = true;
    else if (a[i] == "--certs") certs = next();
    else if (o.mode.empty() && (a[i] == "get" || a[i] == "records")) o.mode = a[i];
    else usage(2);
  }
  if (o.mode.empty()) usage(2);

  std::unique_ptr<controller::App> app;
  std::string dir;
  if (o.self) {
    char tmpl[] = "/tmp/migclock-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    controller::AppOptions ao;
    ao.listen = "127.0.0.1:0";
    ao.data_dir = dir;
    ao.plain_http = o.plain;
    if (!o.plain) {
      if (certs.empty()) {
        certs = dir + "/certs";
        std::string cmd = std::string(MIGCLOCK_SOURCE_DIR) + "/tools/make-dev-certs.sh " + certs + " localhost 127.0.0.1 >/dev/null";
        if (std::system(cmd.c_str()) != 0) return 1;
      }
      ao.tls_cert = certs + "/server.pem";
      ao.tls_key = certs + "/server.key";
      o.ca = certs + "/ca.pem";
    }
    o.token = controller::create_token(dir, controller::Scope::agent, "bench", "hv-a").value();
    app = std::make_unique<controller::App>(ao);
    auto port = app->start();
    if (!port) {
      std::fprintf(stderr, "%s\n", port.error().message().c_str());
      return 1;
    }
    o.server = (o.plain ? "http://127.0.0.1:" : "https://127.0.0.1:") + std::to_string(*port);
  }
  if (o.server.empty()) usage(2);
  {
    // The host the GETs read.
    net::Client c(net::ClientOptions(o.server, o.ca, o.token));
    auto r = c.put("/api/v1/hosts/hv-a",
                   R"({"hostname":"hv-a","tsc_khz":2899998,"scaling_supported":false,"offset_honoured":"yes","masterclock_possible":true,"vms":[{"uuid":"u1","name":"web1","state":"running"}]})");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "setup failed: %s\n", r ? r->body.c_str() : r.error().message().c_str());
      return 1;
    }
  }
  // Unique per run, so every announcement creates a record (201).
  std::string run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::vector<double>> lat(o.connections);
  std::vector<uint64_t> errors(o.connections, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.connections; ++t) {
    threads.emplace_back([&, t] {
      net::Client c(net::ClientOptions(o.server, o.ca, o.token));
      auto warm = c.get("/healthz");  // connect + handshake before timing
      (void)warm;
      while (!go) std::this_thread::yield();
      uint64_t n = 0;
      while (!stop) {
        auto t0 = std::chrono::steady_clock::now();
        Result<net::Response> r = o.mode == "get"
            ? c.get(o.path)
            : c.post("/api/v1/migrations", "{\"vm_uuid\":\"bench-" + run_id + "-" + std::to_string(t) + "-" + std::to_string(n++) +
                                               "\",\"source\":\"hv-a\",\"destination\":\"hv-b\"}");
        double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
        bool ok = r && r->status == (o.mode == "get" ? 200u : 201u);
        if (ok) lat[t].push_back(us);
        else ++errors[t];
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
  stop = true;
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  uint64_t errs = 0;
  for (int t = 0; t < o.connections; ++t) {
    all.insert(all.end(), lat[t].begin(), lat[t].end());
    errs += errors[t];
  }
  double n = static_cast<double>(all.size());
  std::printf("{\"mode\":\"%s\",\"server\":\"%s\",\"transport\":\"%s\",\"connections\":%d,\"duration_s\":%.2f,"
              "\"ok\":%zu,\"errors\":%llu,\"per_second\":%.1f,\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
              "\"max\":%.1f},\"hardware_threads\":%u}\n",
              o.mode.c_str(), o.self ? "in-process" : o.server.c_str(), o.server.rfind("https", 0) == 0 ? "tls" : "plain",
              o.connections, elapsed, all.size(), static_cast<unsigned long long>(errs), n / elapsed, pct(all, 50),
              pct(all, 90), pct(all, 99), all.empty() ? 0.0 : *std::max_element(all.begin(), all.end()),
              std::thread::hardware_concurrency());
  if (app) app->stop();
  if (!dir.empty()) {
    std::string rm = "rm -rf " + dir;
    (void)std::system(rm.c_str());
  }
  return errs == 0 ? 0 : 1;
}
