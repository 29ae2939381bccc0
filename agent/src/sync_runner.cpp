#include "migclock/agent/sync_runner.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "migclock/agent/companion_path.hpp"
#include "migclock/agent/sync_verdict.hpp"
#include "migclock/agent_sync/libvirt_channel.hpp"
#include "migclock/agent_sync/offset_measurement.hpp"
#include "migclock/agent_sync/report_json.hpp"

namespace migclock::agent {

SyncOutcome outcome_from(const SyncRequest& req, const Result<agent_sync::RetriedSync>& r, int64_t started_rt,
                         int64_t finished_rt) {
  SyncOutcome o;
  o.reason = req.cause.text;
  o.policy = req.options.policy;
  o.started_realtime_ns = started_rt;
  o.finished_realtime_ns = finished_rt;
  o.target_mode = req.target_mode;
  o.target_offset_ns = req.options.target.offset_ns;
  o.target_uncertainty_ns = req.options.target.uncertainty_ns;
  o.target_source = req.options.target.source;
  if (!r.ok()) {
    o.cancelled = r.error().code == make_error_code(errc::conflict);
    o.message = r.error().message();
    return o;
  }
  const auto& rep = r->report;
  o.ok = true;
  // Resolved by the sync (a relative target plus its first measurement).
  o.target_offset_ns = rep.target_offset_ns;
  o.target_uncertainty_ns = rep.target_uncertainty_ns;
  o.target_source = rep.target_source;
  if (rep.before) {
    o.offset_before_ns = rep.before->median_offset_ns;
    o.before_spread_ns = rep.before->spread_ns;
    o.before_rtt_ns = rep.before->min_rtt_ns;
  }
  // measure: the only measurement is "before"; it is also the residual.
  const auto& last = rep.after ? rep.after : rep.before;
  if (last) {
    o.offset_after_ns = last->median_offset_ns;
    o.spread_ns = last->spread_ns;
    o.rtt_ns = last->min_rtt_ns;
    o.asymmetry_bound_ns = last->asymmetry_bound_ns;
    o.statistical_ns = last->statistical_ns;
  }
  o.corrections = static_cast<int>(rep.steps.size());
  o.agent_wait_ns = r->connected_at_ns - req.event_mono_ns;
  o.sync_ns = rep.finished_at_host_ns - r->connected_at_ns;
  o.message = rep.rtc_error.empty() ? (rep.rtc_reinjection_reset ? "synced; RTC reinjection reset" : "synced")
                                    : "synced; rtc-reset-reinjection failed: " + rep.rtc_error;
  if (req.options.policy == SyncPolicy::measure) o.message = "measured (policy measure: guest untouched)";
  return o;
}

// The first guest-set-time after a migration runs on the destination's cold
// QEMU; after a resume or restore the path is the one the guest last used.
std::string event_kind(SyncTrigger t) {
  if (t == SyncTrigger::migrated) return "migrated";
  if (t == SyncTrigger::restored) return "restored";
  return "resumed";
}

void SyncRunner::reap_finished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->finished->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void SyncRunner::request(ConnHandle conn, SyncRequest req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  reap_finished();
  auto token = gate_.begin(req.uuid);
  tokens_.push_back(token);
  auto finished = std::make_shared<std::atomic<bool>>(false);
  std::thread t([this, conn = std::move(conn), req = std::move(req), token, finished]() mutable {
    run(conn, std::move(req), token);
    finished->store(true);
  });
  workers_.push_back(Worker{std::move(t), finished});
}

void SyncRunner::cancel(const std::string& uuid) {
  // A fresh token supersedes the running one; finishing it at once leaves
  // no entry behind.
  auto token = gate_.begin(uuid);
  gate_.finish(uuid, token);
}

void SyncRunner::stop() {
  std::list<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& t : tokens_) t->cancel();
    workers.swap(workers_);
  }
  for (auto& w : workers) w.thread.join();
}

std::string SyncRunner::describe(const QgaBias::Estimate& b) {
  char text[160];
  std::snprintf(text, sizeof text,
                "qemu-ga asymmetry removed: each measurement less its bound minus a %.1f us reply path (median of %zu "
                "comparisons with the companion, MAD %.1f us)",
                b.reply_path_ns / 1e3, b.samples, b.spread_ns / 1e3);
  return text;
}

void SyncRunner::learn_qga_bias(agent_sync::GuestAgentChannel& agent, const agent_sync::SyncReport& companion,
                                const SyncRequest& req) {
  const auto& last = companion.after ? companion.after : companion.before;
  if (!last) return;
  // Right after the companion's last measurement, the same guest through
  // qemu-ga: short, and only when qemu-ga answers at once.
  agent_sync::MeasureOptions mo;
  mo.command_timeout = std::chrono::milliseconds(300);
  mo.budget = std::chrono::milliseconds(150);
  auto q = agent_sync::measure_offset(agent, time_, mo);
  if (!q) {
    spdlog::debug("vm={} uuid={}: qemu-ga bias not sampled: {}", req.name, req.uuid, q.error().message());
    return;
  }
  const int64_t sample = q->median_offset_ns - last->median_offset_ns;
  const bool kept = qga_bias_.record(sample, q->asymmetry_bound_ns, last->asymmetry_bound_ns);
  spdlog::debug("vm={} uuid={}: qemu-ga bias sample {} ns (qemu-ga +- {} ns, companion +- {} ns): {}; {} kept", req.name,
                req.uuid, sample, q->asymmetry_bound_ns, last->asymmetry_bound_ns, kept ? "kept" : "not kept",
                qga_bias_.samples());
}

void SyncRunner::run(const ConnHandle& conn, SyncRequest req, const std::shared_ptr<agent_sync::CancelToken>& token) {
  const int64_t entered = time_.monotonic_raw_ns();
  if (req.prepare) req.prepare(req);
  const int64_t prepared = time_.monotonic_raw_ns();
  const int64_t started = time_.realtime_ns();
  Result<agent_sync::RetriedSync> result = make_error(errc::unavailable, "not run");
  std::string channel = "qemu-ga", channel_note;
  auto dom = lookup_domain(conn, req.uuid);
  if (!dom) {
    result = dom.error();
  } else {
    // Where the time from the event to the first exchange goes (issue 10:
    // resume -> within 100 us).
    spdlog::debug("vm={} uuid={}: {}: sync starts {:.1f} ms after the event (queued {:.1f} ms, prepared in {:.1f} ms, "
                  "domain lookup {:.1f} ms)",
                  req.name, req.uuid, req.cause.text, (time_.monotonic_raw_ns() - req.event_mono_ns) / 1e6,
                  (entered - req.event_mono_ns) / 1e6, (prepared - entered) / 1e6,
                  (time_.monotonic_raw_ns() - prepared) / 1e6);
    auto handle = std::make_shared<agent_sync::LibvirtDomainHandle>(dom->get());
    agent_sync::LibvirtGuestAgentChannel agent(handle);
    agent_sync::LibvirtQemuMonitorChannel monitor(handle);
    const std::string kind = event_kind(req.cause.trigger);
    // The companion first (precise, relative steps); qemu-ga when the domain
    // has no companion channel or it does not answer.
    auto comp = try_companion_sync(dom->get(), req.companion_socket, req.options, &monitor, time_, *token);
    channel_note = comp.note;
    if (comp.result) {
      result = std::move(*comp.result);
      channel = "companion";
      if (result.ok() && req.qga_learn) learn_qga_bias(agent, result->report, req);
    } else {
      delays_.fill(req.options, req.uuid, kind);
      if (auto b = req.qga_bias ? qga_bias_.estimate() : std::nullopt) {
        req.options.channel_reply_path_ns = b->reply_path_ns;
        channel_note += (channel_note.empty() ? "" : "; ") + describe(*b);
      }
      result = agent_sync::sync_when_agent_connects(agent, &monitor, time_, req.options, req.retry, *token);
    }
    if (result.ok()) {
      // Apply delays are a qemu-ga notion (absolute times); relative steps have none.
      if (channel == "qemu-ga") delays_.learn(result->report, req.uuid, kind);
      // Every step with its timings, for whoever needs to see where the time went.
      spdlog::debug("vm={} uuid={}: {}: sync via {} report {}", req.name, req.uuid, req.cause.text, channel,
                    agent_sync::to_json(result->report));
    }
  }
  SyncOutcome outcome = outcome_from(req, result, started, time_.realtime_ns());
  outcome.channel = channel;
  outcome.channel_note = channel_note;
  if (outcome.ok) outcome.message += " (via " + channel + ")";
  judge_sync(outcome, {req.options.residual_threshold_ns, req.uncertainty_limit_ns});
  gate_.finish(req.uuid, token);
  {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_.remove(token);
  }
  if (done_) done_(req, outcome);
}

}  // namespace migclock::agent
