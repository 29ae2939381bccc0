#include "migclock/agent/metrics.hpp"

namespace migclock::agent {

using net::prometheus::counter;
using net::prometheus::gauge;
using net::prometheus::histogram;

Metrics::Metrics()
    : residual_offset({1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2, 1e-1, 1.0}),
      event_lag({1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1, 5e-1, 1.0}),
      sync_latency({1e-2, 5e-2, 1e-1, 2.5e-1, 5e-1, 1.0, 5.0, 30.0, 60.0}) {}

std::string Metrics::render() const {
  std::string out;
  counter(out, "migclock_agent_captures_total", "Snapshots captured from libvirt/QEMU domains or posted by VMMs.", captures);
  counter(out, "migclock_agent_capture_failures_total", "Captures that failed.", capture_failures);
  counter(out, "migclock_agent_syncs_total", "Guest clock sync runs completed (step or measure).", syncs);
  counter(out, "migclock_agent_sync_failures_total", "Guest clock sync runs that failed.", sync_failures);
  counter(out, "migclock_agent_sync_cancelled_total", "Sync runs superseded by a newer event for the same VM.", sync_cancelled);
  counter(out, "migclock_agent_syncs_verified_total",
          "Syncs whose final measurement showed the residual within the threshold and its uncertainty within the limit.",
          syncs_verified);
  counter(out, "migclock_agent_syncs_degraded_total",
          "Syncs whose final measurement missed the threshold, or could not show it (uncertainty above the limit).",
          syncs_degraded);
  counter(out, "migclock_agent_hook_events_total", "Events posted by the libvirt hook.", hook_events);
  counter(out, "migclock_agent_tsc_pins_total", "migrate begin: domain XML pinned to the source TSC frequency.", tsc_pins);
  counter(out, "migclock_agent_tsc_pin_warnings_total", "migrate begin: frequency could not be honoured (lenient).", tsc_pin_warnings);
  counter(out, "migclock_agent_tsc_pin_refusals_total", "migrate begin: migration refused (strict).", tsc_pin_refusals);
  counter(out, "migclock_agent_snapshots_shipped_total", "Snapshots handed to the controller.", snapshots_shipped);
  counter(out, "migclock_agent_libvirt_reconnects_total", "Reconnections to libvirt.", libvirt_reconnects);
  counter(out, "migclock_agent_refused_peers_total", "Local API connections refused by SO_PEERCRED.", refused_peers);
  gauge(out, "migclock_agent_outbox_pending", "Snapshots on disk waiting for the controller.", static_cast<int64_t>(outbox_pending.load()));
  gauge(out, "migclock_agent_libvirt_connected", "1 while connected to libvirt.", libvirt_connected.load());
  gauge(out, "migclock_agent_domains", "Domains in the inventory.", static_cast<int64_t>(domains.load()));
  net::prometheus::header(out, "migclock_agent_qga_reply_path_seconds",
                          "qemu-ga's reply path on this host, learned against the guest companion; qemu-ga syncs "
                          "remove (asymmetry bound - this) from each measurement (0 until learned).",
                          "gauge");
  out += "migclock_agent_qga_reply_path_seconds " +
         net::prometheus::number(static_cast<double>(qga_reply_path_ns.load()) / 1e9) + "\n";
  gauge(out, "migclock_agent_qga_bias_samples", "Companion comparisons the qemu-ga reply path stands on.",
        qga_bias_samples.load());
  histogram(out, "migclock_agent_residual_offset_seconds", "Absolute guest-host wall clock offset after a sync.", residual_offset);
  histogram(out, "migclock_agent_event_lag_seconds", "Delay from a libvirt event or hook call to its handling.", event_lag);
  histogram(out, "migclock_agent_sync_latency_seconds", "From guest agent available to guest clock synced.", sync_latency);
  return out;
}

}  // namespace migclock::agent
