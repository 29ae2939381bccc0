// Prometheus text exposition: requests by route and code, journal commit
// latency and failures, clock-offset histogram; migrations by phase and the
// per-host gauges are read from the state at scrape time (render() and
// render_hosts() take them as input).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "migclock/controller/model.hpp"
#include "migclock/net/prometheus.hpp"

namespace migclock::controller {

using net::prometheus::Histogram;

class Metrics {
 public:
  Metrics();
  void count_request(const std::string& route, unsigned status);
  void observe_commit(double seconds, std::size_t records, std::size_t requests);
  void observe_offset(int64_t offset_ns, int64_t uncertainty_ns);
  void count_outcome(const std::string& outcome);  // verified | failed | degraded
  void count_commit_failure();

  // Per host: heartbeat age and the latest clock offset (θ = controller −
  // host) with its uncertainty, for alerts on silent agents and drifting
  // hosts (docs/monitoring/alerts.yml). A host without an offset yet has
  // no offset series.
  static std::string render_hosts(const std::vector<Host>& hosts, int64_t now_ns);
  void count_handler_exception();                   // a handler threw; answered 500
  // etcd store: whether this controller holds the sweeper's lease (the one
  // of several controllers that expires phase timeouts), read at scrape
  // time; rendered as migclock_etcd_sweeper_lease_held 1/0. Unset (SQLite,
  // one controller that always sweeps): no such series.
  void set_sweeper_lease(std::function<bool()> held);

  // `phases`: current migrations per phase name.
  std::string render(const std::vector<std::pair<std::string, int64_t>>& phases) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, unsigned>, uint64_t> requests_;
  std::map<std::string, uint64_t> outcomes_;
  uint64_t commit_failures_ = 0;
  uint64_t handler_exceptions_ = 0;
  Histogram commit_seconds_;
  Histogram commit_batch_;
  Histogram offset_abs_seconds_;
  Histogram offset_uncertainty_seconds_;
  std::function<bool()> sweeper_lease_held_;
};

}  // namespace migclock::controller
