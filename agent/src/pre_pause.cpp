// The guest's own offset measured on the source *before* the final pause
// of a live migration, for a continuity target on the destination
// (sync_target.cpp). The capture on SUSPENDED_MIGRATED comes too late for
// it: the guest is paused and its agent cannot answer. libvirt announces
// each further precopy pass (migration iteration event) while the guest
// still runs; the latest measurement then travels as the snapshot's
// guest_time. Without one the destination dates the pause by events, which
// the loaded test machine showed off by up to 12 ms.
#include <spdlog/spdlog.h>

#include "migclock/agent/agent.hpp"
#include "migclock/agent_sync/clock_target.hpp"
#include "migclock/agent_sync/libvirt_channel.hpp"
#include "migclock/agent_sync/offset_measurement.hpp"

namespace migclock::agent {

namespace {
// A measurement older than this is not "just before the pause".
constexpr int64_t kPrePauseMaxAgeNs = int64_t{60} * 1'000'000'000;
}  // namespace

void Agent::request_pre_pause_measurement(const DomainEvent& ev) {
  const AgentConfig cfg = config();
  // Continuity is the target after the pause for VMs set to it, and for
  // offset='variable' clocks (sync_target.cpp).
  const auto domain = inventory_.get(ev.uuid);
  const auto clock = agent_sync::parse_domain_clock(domain ? domain->clock_xml : "");
  const bool variable = clock && clock->offset == agent_sync::DomainClock::Offset::variable;
  if (!variable && cfg.sync_target_for(ev.uuid, ev.name) != agent_sync::TargetMode::continuity) return;
  {
    std::lock_guard<std::mutex> lock(pre_pause_mu_);
    pre_pause_next_ = ev;
  }
  pre_pause_cv_.notify_all();
}

void Agent::pre_pause_loop() {
  std::unique_lock<std::mutex> lock(pre_pause_mu_);
  while (true) {
    pre_pause_cv_.wait(lock, [this] { return pre_pause_stop_ || pre_pause_next_.has_value(); });
    if (pre_pause_stop_) return;
    const DomainEvent ev = *pre_pause_next_;
    pre_pause_next_.reset();
    lock.unlock();
    measure_before_pause(ev);
    lock.lock();
  }
}

void Agent::measure_before_pause(const DomainEvent& ev) {
  auto conn = session_->connection();
  if (!conn) return;
  auto dom = lookup_domain(*conn, ev.uuid);
  if (!dom) return;
  agent_sync::LibvirtGuestAgentChannel channel(std::make_shared<agent_sync::LibvirtDomainHandle>(dom->get()));
  // Short: the pause may come any moment, and the migration is under way.
  // A fixed 4 exchanges (no adaptive sampling): the pause may come any moment.
  auto e = agent_sync::measure_offset(channel, time_, agent_sync::MeasureOptions{4, 2, std::chrono::milliseconds(1000), 0});
  if (!e) {
    spdlog::debug("vm={} uuid={}: {}: guest offset not measured: {}", ev.name, ev.uuid, describe(ev),
                  e.error().message());
    return;
  }
  const int64_t mid = e->measured_at_host_ns - e->min_rtt_ns / 2;
  std::lock_guard<std::mutex> lock(pre_pause_mu_);
  pre_pause_[ev.uuid] = PrePause{snapshot::GuestTime{mid + e->median_offset_ns, mid, e->min_rtt_ns},
                                 time_.monotonic_raw_ns()};
  spdlog::info("vm={} uuid={}: {}: guest offset before the pause {} ns +- {} ns", ev.name, ev.uuid, describe(ev),
               e->median_offset_ns, e->asymmetry_bound_ns);
}

std::optional<snapshot::GuestTime> Agent::take_pre_pause(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(pre_pause_mu_);
  auto it = pre_pause_.find(uuid);
  if (it == pre_pause_.end()) return std::nullopt;
  const PrePause p = it->second;
  pre_pause_.erase(it);
  if (time_.monotonic_raw_ns() - p.at_mono_ns > kPrePauseMaxAgeNs) return std::nullopt;
  return p.guest;
}

}  // namespace migclock::agent
