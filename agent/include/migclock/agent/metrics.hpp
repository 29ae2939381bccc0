// The agent's metrics, rendered in the Prometheus text exposition format
// (version 0.0.4) for GET /metrics. Thread-safe: events, syncs and the API
// update them from different threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "migclock/net/prometheus.hpp"

namespace migclock::agent {

using net::prometheus::Histogram;

class Metrics {
 public:
  Metrics();

  std::atomic<uint64_t> captures{0};
  std::atomic<uint64_t> capture_failures{0};
  std::atomic<uint64_t> syncs{0};          // sync runs that completed (any policy but off)
  std::atomic<uint64_t> sync_failures{0};
  std::atomic<uint64_t> sync_cancelled{0};  // superseded by a newer event
  std::atomic<uint64_t> syncs_verified{0};  // verdicts (sync_verdict.hpp)
  std::atomic<uint64_t> syncs_degraded{0};
  std::atomic<int64_t> qga_reply_path_ns{0};  // qemu-ga's learned reply path (qga_bias.hpp), 0 until learned
  std::atomic<int64_t> qga_bias_samples{0};  // comparisons it stands on
  std::atomic<uint64_t> hook_events{0};
  std::atomic<uint64_t> tsc_pins{0};        // migrate begin: XML pinned
  std::atomic<uint64_t> tsc_pin_warnings{0};  // lenient: could not honour
  std::atomic<uint64_t> tsc_pin_refusals{0};  // strict: migration refused
  std::atomic<uint64_t> outbox_pending{0};
  std::atomic<uint64_t> snapshots_shipped{0};
  std::atomic<uint64_t> libvirt_reconnects{0};
  std::atomic<uint64_t> refused_peers{0};   // SO_PEERCRED refusals
  std::atomic<int> libvirt_connected{0};
  std::atomic<uint64_t> domains{0};

  // |guest − host| after the sync (or as measured under `measure`), seconds.
  Histogram residual_offset;
  // libvirt event callback → handling started; hook send → agent receipt.
  Histogram event_lag;
  // agent connected (or the event, if it was already) → synced.
  Histogram sync_latency;

  std::string render() const;
};

}  // namespace migclock::agent
