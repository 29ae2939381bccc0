// Handing snapshots and sync results to the controller (docs/protocol.md):
// the outbox on disk is the queue, so a controller outage or an agent
// restart loses nothing; a failed attempt is retried every outbox_retry_s.
#include <spdlog/spdlog.h>

#include "migclock/agent/agent.hpp"

namespace migclock::agent {

void Agent::start_shipping(const AgentConfig& cfg) {
  if (cfg.controller_url.empty()) {
    spdlog::info("no controller configured: snapshots stay in {}", outbox_.dir());
    return;
  }
  ControllerSettings s;
  s.url = cfg.controller_url;
  s.ca_file = cfg.controller_ca_file;
  s.hostname = host_.facts.hostname;
  if (!cfg.controller_token_file.empty()) {
    auto t = read_token_file(cfg.controller_token_file);
    if (!t) {
      spdlog::error("{}: not talking to the controller", t.error().message());
      return;
    }
    s.token = *t;
  }
  controller_ = s;
  link_ = std::make_unique<ControllerLink>(s);
  poll_link_ = std::make_unique<ControllerLink>(s);
  // Register (and measure the clock offset) right away: a destination must
  // be known to the controller before the first migration reaches it.
  ship_now_ = true;
  shipper_ = std::thread([this] { ship_loop(); });
  poller_ = std::thread([this] { poll_commands_loop(); });
  spdlog::info("controller {}: shipping snapshots as host {}", cfg.controller_url, s.hostname);
}

void Agent::wake_shipper() {
  std::lock_guard<std::mutex> lock(ship_mu_);
  ship_now_ = true;
  ship_cv_.notify_all();
}

void Agent::ship_loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(ship_mu_);
      ship_cv_.wait_for(lock, std::chrono::seconds(config().outbox_retry_s), [this] {
        std::lock_guard<std::mutex> q(q_mu_);
        return stopping_ || ship_now_;
      });
      ship_now_ = false;
    }
    {
      std::lock_guard<std::mutex> q(q_mu_);
      if (stopping_) return;
    }
    ship_once();
  }
}

void Agent::poll_commands_loop() {
  // Short polls so SIGTERM is never held up for long by one in flight.
  constexpr int kWaitS = 5;
  auto stopping = [this] {
    std::lock_guard<std::mutex> q(q_mu_);
    return stopping_;
  };
  while (!stopping()) {
    auto cmds = poll_link_->poll_commands(kWaitS);
    if (!cmds) {
      spdlog::debug("controller: command poll: {}", cmds.error().message());
      std::unique_lock<std::mutex> lock(ship_mu_);
      ship_cv_.wait_for(lock, std::chrono::seconds(config().outbox_retry_s), [&] {
        std::lock_guard<std::mutex> q(q_mu_);
        return stopping_;
      });
      continue;
    }
    for (const auto& c : *cmds) {
      spdlog::info("vm={} uuid={}: controller command {} ({})", c.vm_name, c.vm_uuid, c.id, c.kind);
      Status st = c.kind == protocol::kCommandSync ? request_sync(c.vm_uuid, SyncCause::command(c.id))
                                   : Status(make_error(errc::not_supported, "command kind '" + c.kind + "'"));
      if (!st) {
        std::lock_guard<std::mutex> lock(ship_mu_);
        command_reports_.push_back(CommandReport{c.id, false, st.error().message(), std::nullopt, 0});
        ship_now_ = true;
        ship_cv_.notify_all();
      }
    }
  }
}

void Agent::ship_once() {
  // Heartbeat (protocol §1) at most every 10 s; also tells the controller
  // which VMs live here.
  const int64_t now = time_.monotonic_raw_ns();
  bool sync_reports = false;
  {
    std::lock_guard<std::mutex> lock(ship_mu_);
    sync_reports = !reports_.empty();
  }
  // Before a sync report too: the controller takes a destination nobody
  // named only from a host whose heartbeat reports the VM running there.
  if (now - last_heartbeat_mono_ns_ >= 10'000'000'000 || sync_reports) {
    if (auto st = link_->register_host(host_, inventory_.all()); st) {
      last_heartbeat_mono_ns_ = now;
      // The controller's clock vs ours (protocol §2): what makes elapsed
      // time across two hosts meaningful.
      if (auto theta = link_->measure_clock_offset(time_); theta)
        spdlog::debug("controller: clock offset {} ns", *theta);
      else
        spdlog::warn("controller: clock offset not measured: {}", theta.error().message());
    } else {
      spdlog::warn("controller: heartbeat failed: {}", st.error().message());
      return;  // unreachable: keep everything for the next round
    }
  }
  for (const auto& item : outbox_.pending()) {
    auto snap = outbox_.load(item);
    if (!snap) {
      spdlog::error("outbox: {} unreadable ({}); leaving it for an operator", item.path, snap.error().message());
      continue;
    }
    auto id = link_->ship(item, *snap);
    if (!id) {
      spdlog::warn("vm={} uuid={}: snapshot not handed over yet: {}", snap->vm.name, snap->vm.uuid, id.error().message());
      break;  // keep order; retry later
    }
    metrics_.snapshots_shipped++;
    if (auto st = outbox_.remove(item); !st) spdlog::warn("{}", st.error().message());
    spdlog::info("vm={} uuid={}: snapshot handed to the controller (migration {})", snap->vm.name, snap->vm.uuid, *id);
  }
  metrics_.outbox_pending = outbox_.pending().size();
  std::deque<PendingReport> reports;
  {
    std::lock_guard<std::mutex> lock(ship_mu_);
    reports.swap(reports_);
  }
  std::deque<CommandReport> commands;
  {
    std::lock_guard<std::mutex> lock(ship_mu_);
    commands.swap(command_reports_);
  }
  for (auto& c : commands) {
    auto st = link_->report_command(c.id, c.ok, c.message, c.outcome ? &*c.outcome : nullptr);
    if (st) continue;
    if (++c.attempts >= 5) {
      spdlog::warn("controller command {}: result not reported: {}", c.id, st.error().message());
      continue;
    }
    std::lock_guard<std::mutex> lock(ship_mu_);
    command_reports_.push_back(c);
  }
  for (auto& r : reports) {
    // The first rounds wait for the source's snapshot to reach the
    // controller; the last ones report without it (a source without an
    // agent never sends one).
    auto st = link_->report_sync(r.uuid, r.name, r.outcome, time_.realtime_ns(), r.attempts < 3);
    if (st) {
      spdlog::info("vm={} uuid={}: sync result reported to the controller", r.name, r.uuid);
      continue;
    }
    // Retried a few rounds: the source's announcement may still be on its
    // way (not_found), or the controller briefly away.
    if (++r.attempts >= 5) {
      spdlog::warn("vm={} uuid={}: sync result not reported: {}", r.name, r.uuid, st.error().message());
      continue;
    }
    std::lock_guard<std::mutex> lock(ship_mu_);
    reports_.push_back(r);
  }
}

}  // namespace migclock::agent
