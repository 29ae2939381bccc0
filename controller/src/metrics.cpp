#include "migclock/controller/metrics.hpp"

#include <cmath>

namespace migclock::controller {

using net::prometheus::counter;
using net::prometheus::escape_label;
using net::prometheus::gauge;
using net::prometheus::header;
using net::prometheus::histogram;
using net::prometheus::number;

Metrics::Metrics()
    : commit_seconds_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}),
      commit_batch_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      offset_abs_seconds_({1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10}),
      offset_uncertainty_seconds_({1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}) {}

void Metrics::count_request(const std::string& route, unsigned status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::observe_commit(double seconds, std::size_t, std::size_t requests) {
  std::lock_guard<std::mutex> lock(mutex_);
  commit_seconds_.observe(seconds);
  commit_batch_.observe(static_cast<double>(requests));
}

void Metrics::observe_offset(int64_t offset_ns, int64_t uncertainty_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
  offset_abs_seconds_.observe(std::fabs(static_cast<double>(offset_ns)) / 1e9);
  offset_uncertainty_seconds_.observe(static_cast<double>(uncertainty_ns) / 1e9);
}

void Metrics::count_outcome(const std::string& outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++outcomes_[outcome];
}

void Metrics::count_commit_failure() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++commit_failures_;
}

std::string Metrics::render_hosts(const std::vector<Host>& hosts, int64_t now_ns) {
  std::string age = "# HELP migclock_host_heartbeat_age_seconds Seconds since the host's agent last registered or heartbeat.\n"
                    "# TYPE migclock_host_heartbeat_age_seconds gauge\n";
  std::string off = "# HELP migclock_host_clock_offset_seconds Latest offset controller - host realtime reported by the agent.\n"
                    "# TYPE migclock_host_clock_offset_seconds gauge\n";
  std::string unc = "# HELP migclock_host_clock_offset_uncertainty_seconds Uncertainty of that offset.\n"
                    "# TYPE migclock_host_clock_offset_uncertainty_seconds gauge\n";
  for (const Host& h : hosts) {
    const std::string l = "{host=\"" + escape_label(h.hostname) + "\"} ";
    age += "migclock_host_heartbeat_age_seconds" + l + number(static_cast<double>(now_ns - h.last_seen_ns) / 1e9) + "\n";
    if (!h.offset) continue;
    off += "migclock_host_clock_offset_seconds" + l + number(static_cast<double>(h.offset->offset_ns) / 1e9) + "\n";
    unc += "migclock_host_clock_offset_uncertainty_seconds" + l + number(static_cast<double>(h.offset->uncertainty_ns) / 1e9) + "\n";
  }
  return age + off + unc;
}

void Metrics::count_handler_exception() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++handler_exceptions_;
}

void Metrics::set_sweeper_lease(std::function<bool()> held) {
  std::lock_guard<std::mutex> lock(mutex_);
  sweeper_lease_held_ = std::move(held);
}

std::string Metrics::render(const std::vector<std::pair<std::string, int64_t>>& phases) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(out, "migclock_http_requests_total", "HTTP requests by route pattern and status code.", "counter");
  for (const auto& [k, v] : requests_)
    out += "migclock_http_requests_total{route=\"" + escape_label(k.first) + "\",code=\"" + std::to_string(k.second) +
           "\"} " + std::to_string(v) + "\n";
  header(out, "migclock_migrations", "Migrations currently in each phase.", "gauge");
  for (const auto& [phase, n] : phases)
    out += "migclock_migrations{phase=\"" + phase + "\"} " + std::to_string(n) + "\n";
  header(out, "migclock_migration_outcomes_total", "Migrations that reached an end state since start.", "counter");
  for (const char* o : {"verified", "failed", "degraded"}) {
    auto it = outcomes_.find(o);
    out += std::string("migclock_migration_outcomes_total{outcome=\"") + o + "\"} " +
           std::to_string(it == outcomes_.end() ? 0 : it->second) + "\n";
  }
  counter(out, "migclock_http_handler_exceptions_total", "Requests whose handler threw (answered 500).", handler_exceptions_);
  histogram(out, "migclock_journal_commit_seconds", "Journal (SQLite) commit latency.", commit_seconds_);
  counter(out, "migclock_journal_commit_failures_total",
          "Journal (SQLite) group commits that failed; after one, /readyz reports the journal failing.", commit_failures_);
  histogram(out, "migclock_journal_commit_requests", "Requests acknowledged per group commit.", commit_batch_);
  histogram(out, "migclock_clock_offset_abs_seconds", "|controller - host| realtime offsets reported by agents.",
            offset_abs_seconds_);
  histogram(out, "migclock_clock_offset_uncertainty_seconds", "Uncertainty of reported offsets.", offset_uncertainty_seconds_);
  if (sweeper_lease_held_)
    gauge(out, "migclock_etcd_sweeper_lease_held",
          "1 while this controller holds the etcd lease that makes it the one sweeping phase timeouts, else 0.",
          sweeper_lease_held_() ? 1 : 0);
  return out;
}

}  // namespace migclock::controller
