#include "migclock/agent/shipper.hpp"

#include <spdlog/spdlog.h>

namespace migclock::agent {

namespace {
// Reports are retried this many rounds, then dropped with a warning.
constexpr int kReportAttempts = 5;
// Heartbeat (protocol §1) at most this often; also tells the controller
// which VMs live here.
constexpr int64_t kHeartbeatNs = 10'000'000'000;
}  // namespace

Shipper::Shipper(ControllerSettings settings, Parts parts)
    : parts_(std::move(parts)), link_(settings), poll_link_(settings) {}

Shipper::~Shipper() { stop(); }

void Shipper::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ship_now_ = true;
  }
  shipper_ = std::thread([this] { ship_loop(); });
  poller_ = std::thread([this] { poll_loop(); });
}

void Shipper::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (shipper_.joinable()) shipper_.join();
  if (poller_.joinable()) poller_.join();
}

bool Shipper::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

void Shipper::wake() {
  std::lock_guard<std::mutex> lock(mu_);
  ship_now_ = true;
  cv_.notify_all();
}

void Shipper::report_sync(const std::string& uuid, const std::string& name, const SyncOutcome& o) {
  std::lock_guard<std::mutex> lock(mu_);
  reports_.push_back(SyncReport{uuid, name, o, 0});
  ship_now_ = true;
  cv_.notify_all();
}

void Shipper::report_command(const std::string& id, bool ok, const std::string& message,
                             std::optional<SyncOutcome> outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  command_reports_.push_back(CommandReport{id, ok, message, std::move(outcome), 0});
  ship_now_ = true;
  cv_.notify_all();
}

void Shipper::ship_loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(parts_.retry_s()), [this] { return stopping_ || ship_now_; });
      ship_now_ = false;
      if (stopping_) return;
    }
    ship_once();
  }
}

void Shipper::poll_loop() {
  // Short polls so SIGTERM is never held up for long by one in flight.
  constexpr int kWaitS = 5;
  while (!stopping()) {
    auto cmds = poll_link_.poll_commands(kWaitS);
    if (!cmds) {
      spdlog::debug("controller: command poll: {}", cmds.error().message());
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(parts_.retry_s()), [this] { return stopping_; });
      continue;
    }
    for (const auto& c : *cmds) {
      spdlog::info("vm={} uuid={}: controller command {} ({})", c.vm_name, c.vm_uuid, c.id, c.kind);
      if (Status st = parts_.execute(c); !st) report_command(c.id, false, st.error().message(), std::nullopt);
    }
  }
}

bool Shipper::heartbeat(bool sync_reports_waiting) {
  const int64_t now = parts_.time.monotonic_raw_ns();
  // Before a sync report too: the controller takes a destination nobody
  // named only from a host whose heartbeat reports the VM running there.
  if (now - last_heartbeat_mono_ns_ < kHeartbeatNs && !sync_reports_waiting) return true;
  if (auto st = link_.register_host(parts_.host, parts_.inventory.all()); !st) {
    spdlog::warn("controller: heartbeat failed: {}", st.error().message());
    return false;  // unreachable: keep everything for the next round
  }
  last_heartbeat_mono_ns_ = now;
  // The controller's clock vs ours (protocol §2): what makes elapsed time
  // across two hosts meaningful.
  if (auto theta = link_.measure_clock_offset(parts_.time); theta)
    spdlog::debug("controller: clock offset {} ns", *theta);
  else
    spdlog::warn("controller: clock offset not measured: {}", theta.error().message());
  return true;
}

void Shipper::ship_outbox() {
  for (const auto& item : parts_.outbox.pending()) {
    auto snap = parts_.outbox.load(item);
    if (!snap) {
      spdlog::error("outbox: {} unreadable ({}); leaving it for an operator", item.path, snap.error().message());
      continue;
    }
    auto id = link_.ship(item, *snap);
    if (!id) {
      spdlog::warn("vm={} uuid={}: snapshot not handed over yet: {}", snap->vm.name, snap->vm.uuid, id.error().message());
      break;  // keep order; retry later
    }
    parts_.metrics.snapshots_shipped++;
    if (auto st = parts_.outbox.remove(item); !st) spdlog::warn("{}", st.error().message());
    spdlog::info("vm={} uuid={}: snapshot handed to the controller (migration {})", snap->vm.name, snap->vm.uuid, *id);
  }
  parts_.metrics.outbox_pending = parts_.outbox.pending().size();
}

void Shipper::ship_reports() {
  std::deque<SyncReport> reports;
  std::deque<CommandReport> commands;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reports.swap(reports_);
    commands.swap(command_reports_);
  }
  for (auto& c : commands) {
    auto st = link_.report_command(c.id, c.ok, c.message, c.outcome ? &*c.outcome : nullptr);
    if (st) continue;
    if (++c.attempts >= kReportAttempts) {
      spdlog::warn("controller command {}: result not reported: {}", c.id, st.error().message());
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    command_reports_.push_back(c);
  }
  for (auto& r : reports) {
    // The first rounds wait for the source's snapshot to reach the
    // controller; the last ones report without it (a source without an
    // agent never sends one).
    auto st = link_.report_sync(r.uuid, r.name, r.outcome, parts_.time.realtime_ns(), r.attempts < 3);
    if (st) {
      spdlog::info("vm={} uuid={}: sync result reported to the controller", r.name, r.uuid);
      continue;
    }
    // Retried a few rounds: the source's announcement may still be on its
    // way (not_found), or the controller briefly away.
    if (++r.attempts >= kReportAttempts) {
      spdlog::warn("vm={} uuid={}: sync result not reported: {}", r.name, r.uuid, st.error().message());
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    reports_.push_back(r);
  }
}

void Shipper::ship_once() {
  bool sync_reports = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sync_reports = !reports_.empty();
  }
  if (!heartbeat(sync_reports)) return;
  ship_outbox();
  ship_reports();
}

}  // namespace migclock::agent
