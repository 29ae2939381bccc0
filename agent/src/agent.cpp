#include "migclock/agent/agent.hpp"

#include <spdlog/spdlog.h>

#include "migclock/agent/domain_xml.hpp"
#include "migclock/agent/libvirt_handles.hpp"
#include "migclock/serialization/enum_names.hpp"

namespace migclock::agent {

namespace {

LibvirtOptions libvirt_options(const AgentConfig& c) {
  return LibvirtOptions{c.libvirt_uri, c.keepalive_interval_s, c.keepalive_count, c.reconnect_interval_s};
}

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

Agent::Agent(AgentConfig cfg, const TimeSource& time)
    : time_(time), cfg_(std::move(cfg)), outbox_(cfg_.effective_state_dir() + "/outbox") {}

Agent::~Agent() { stop(); }

AgentConfig Agent::config() const {
  std::lock_guard<std::mutex> lock(cfg_mu_);
  return cfg_;
}

void Agent::start() {
  const AgentConfig cfg = config();
  host_ = probe_host_profile(cfg.hostname, [&cfg]() -> std::optional<std::string> {
    auto caps = libvirt_capabilities(cfg.libvirt_uri);
    if (!caps) spdlog::info("host probe: {}", caps.error().message());
    return caps ? std::optional<std::string>(std::move(*caps)) : std::nullopt;
  });
  if (!host_.kvm_present())
    spdlog::warn("host probe: KVM absent ({}); KVM-only facts (offsets honoured, masterclock) unknown",
                 host_.kvm_reason);
  if (host_.facts.tsc_khz == 0)
    spdlog::warn("host probe: TSC frequency unknown ({}); migrate-begin pinning disabled", host_.tsc_khz_detail);
  spdlog::info("host {}: TSC {} kHz ({}: {}), clocksource {}, TSC scaling {}, offsets honoured {}",
               host_.facts.hostname, host_.facts.tsc_khz, serialization::enum_label(host_.facts.tsc_khz_source),
               host_.tsc_khz_detail, host_.facts.clocksource, host_.facts.scaling_supported ? "yes" : "no",
               serialization::enum_label(host_.facts.offset_honoured));
  metrics_.outbox_pending = outbox_.pending().size();
  syncs_ = std::make_unique<SyncRunner>(time_, [this](const SyncRequest& r, const SyncOutcome& o) { on_sync_done(r, o); });
  worker_ = std::thread([this] { event_loop(); });
  pre_pause_thread_ = std::thread([this] { pre_pause_loop(); });
  session_ = std::make_unique<LibvirtSession>(libvirt_options(cfg), [this](DomainEvent ev) { on_libvirt_event(std::move(ev)); },
                                              time_);
  session_->start();
  start_shipping(cfg);
}

void Agent::stop() {
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  q_cv_.notify_all();
  if (shipper_) shipper_->stop();
  {
    std::lock_guard<std::mutex> lock(pre_pause_mu_);
    pre_pause_stop_ = true;
  }
  pre_pause_cv_.notify_all();
  if (pre_pause_thread_.joinable()) pre_pause_thread_.join();
  if (syncs_) syncs_->stop();
  if (session_) session_->stop();
  if (worker_.joinable()) worker_.join();
}

std::string Agent::reload(AgentConfig cfg) {
  std::string changed;
  {
    std::lock_guard<std::mutex> lock(cfg_mu_);
    if (cfg.libvirt_uri != cfg_.libvirt_uri) changed += "libvirt_uri ";
    if (cfg.sync_policy != cfg_.sync_policy) changed += "sync_policy ";
    if (cfg.tsc_pin_policy != cfg_.tsc_pin_policy) changed += "tsc_pin_policy ";
    if (cfg.vms.size() != cfg_.vms.size()) changed += "vms ";
    if (cfg.effective_socket_path() != cfg_.effective_socket_path())
      spdlog::warn("reload: socket path changes take effect on restart");
    // The controller link and the state dir are wired at start: say so
    // rather than pretend a reload applied them.
    for (const auto& [what, changed_too] :
         {std::pair<const char*, bool>{"controller_url", cfg.controller_url != cfg_.controller_url},
          {"controller_token_file", cfg.controller_token_file != cfg_.controller_token_file},
          {"controller_ca_file", cfg.controller_ca_file != cfg_.controller_ca_file},
          {"hostname", cfg.hostname != cfg_.hostname},
          {"state_dir", cfg.effective_state_dir() != cfg_.effective_state_dir()}})
      if (changed_too) {
        spdlog::warn("reload: {} changed: takes effect on restart", what);
        changed += std::string(what) + "(on restart) ";
      }
    cfg_ = std::move(cfg);
  }
  if (session_) session_->reconfigure(libvirt_options(config()));
  return changed.empty() ? "no listed setting changed" : changed;
}

void Agent::on_libvirt_event(DomainEvent ev) {
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    if (stopping_) return;
    queue_.push_back(std::move(ev));
  }
  q_cv_.notify_one();
}

void Agent::event_loop() {
  while (true) {
    DomainEvent ev;
    {
      std::unique_lock<std::mutex> lock(q_mu_);
      q_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      ev = std::move(queue_.front());
      queue_.pop_front();
    }
    metrics_.event_lag.observe(seconds(time_.monotonic_raw_ns() - ev.received_mono_ns));
    handle(ev);
  }
}

void Agent::handle(const DomainEvent& ev) {
  switch (ev.kind) {
    case DomainEvent::Kind::connected:
      metrics_.libvirt_connected = 1;
      metrics_.libvirt_reconnects = session_ ? session_->reconnects() : 0;
      refresh_inventory();
      return;
    case DomainEvent::Kind::disconnected:
      metrics_.libvirt_connected = 0;
      spdlog::warn("libvirt: disconnected; inventory kept until reconnect");
      return;
    case DomainEvent::Kind::agent_lifecycle: {
      const bool up = ev.agent_state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED;
      inventory_.set_agent_connected(ev.uuid, up);
      // A sync waiting for this agent tries again now, not at its next poll.
      if (up) syncs_->nudge(ev.uuid);
      spdlog::info("vm={} uuid={}: {}", ev.name, ev.uuid, describe(ev));
      return;
    }
    case DomainEvent::Kind::migration_iteration:
      request_pre_pause_measurement(ev);
      return;
    case DomainEvent::Kind::qmp: {
      std::lock_guard<std::mutex> lock(suspended_mu_);
      auto& p = qemu_pause_[ev.uuid];
      if (ev.qmp_event == "STOP") p = QemuPause{ev.qmp_realtime_ns, 0};
      else if (ev.qmp_event == "RESUME" && p.stop_rt_ns > 0) p.resume_rt_ns = ev.qmp_realtime_ns;
      spdlog::debug("vm={} uuid={}: {} at {} ns", ev.name, ev.uuid, describe(ev), ev.qmp_realtime_ns);
      return;
    }
    case DomainEvent::Kind::lifecycle: break;
  }
  const std::string what = describe(ev);
  const auto before = inventory_.get(ev.uuid);
  spdlog::info("vm={} uuid={}: event {}", ev.name, ev.uuid, what);
  if (ev.event == VIR_DOMAIN_EVENT_UNDEFINED) {
    syncs_->cancel(ev.uuid);
    {
      std::lock_guard<std::mutex> lock(suspended_mu_);
      suspended_at_mono_ns_.erase(ev.uuid);
      qemu_pause_.erase(ev.uuid);
      last_offset_ns_.erase(ev.uuid);
    }
    inventory_.remove(ev.uuid);
    metrics_.domains = inventory_.size();
    return;
  }
  if (ev.event == VIR_DOMAIN_EVENT_SUSPENDED && ev.detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED) {
    // Source side: the guest is paused for the last round; capture now,
    // before re-reading the domain: the capture time dates the pause for a
    // continuity target on the destination (sync_target.cpp), and each
    // libvirt round trip before it shows there as a lag (~4 ms measured).
    if (auto r = capture(ev.uuid, "live"); !r)
      spdlog::error("vm={} uuid={}: capture on SUSPENDED_MIGRATED failed: {}", ev.name, ev.uuid, r.error().message());
    refresh_domain(ev.uuid);
    inventory_.note_event(ev.uuid, what, time_.realtime_ns());
    return;
  }
  // A resume's sync starts before any bookkeeping: each libvirt round trip
  // ahead of it is time the guest runs on a stale clock (re-reading the
  // domain and tagging it took 14 ms after a migration, measured). The
  // record from before the event has the <clock> the target needs.
  const bool migrated = ev.event == VIR_DOMAIN_EVENT_RESUMED && ev.detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED;
  const bool unpaused = ev.event == VIR_DOMAIN_EVENT_RESUMED && ev.detail == VIR_DOMAIN_EVENT_RESUMED_UNPAUSED;
  // Only a resume of a guest we saw suspended left its clock behind.
  const bool wants_sync = migrated || (unpaused && before && before->state == "paused");
  const SyncCause cause{migrated ? SyncTrigger::migrated : SyncTrigger::resumed, what, {}};
  // Running from the event on, before anything else is done about it: an
  // operator's sync asked for the moment the resume is visible (the sync's
  // log line, say) must not find the guest "paused" (409).
  if (ev.event == VIR_DOMAIN_EVENT_RESUMED) inventory_.set_state(ev.uuid, "running");
  bool scheduled = false;
  if (wants_sync && before) {
    schedule_sync(ev.uuid, ev.name, cause, ev.received_mono_ns);
    scheduled = true;
  }
  // The event's state wins over the re-read, which may have raced it: a
  // resume must find the guest running (an operator's sync, 409 otherwise),
  // a suspend must leave it paused so that the later resume gets its sync.
  const char* event_state = ev.event == VIR_DOMAIN_EVENT_RESUMED     ? "running"
                            : ev.event == VIR_DOMAIN_EVENT_SUSPENDED ? "paused"
                                                                     : nullptr;
  if (!refresh_domain(ev.uuid, event_state) && ev.event == VIR_DOMAIN_EVENT_STOPPED) {
    // A transient domain that stopped (migrated away, saved, shut down) is
    // gone from libvirt, and libvirt sends no UNDEFINED for it: drop it, or
    // heartbeats would keep reporting it here.
    syncs_->cancel(ev.uuid);
    inventory_.remove(ev.uuid);
    metrics_.domains = inventory_.size();
    return;
  }
  inventory_.note_event(ev.uuid, what, time_.realtime_ns());

  if (migrated) {
    if (!scheduled) schedule_sync(ev.uuid, ev.name, cause, ev.received_mono_ns);
    tag_domain_source(ev.uuid);
    return;
  }
  if (unpaused) {
    if (wants_sync && !scheduled) schedule_sync(ev.uuid, ev.name, cause, ev.received_mono_ns);
    // Each SUSPENDED event dates one pause: a later resume whose SUSPENDED
    // was missed (libvirt disconnected) must not reuse it.
    std::lock_guard<std::mutex> lock(suspended_mu_);
    suspended_at_mono_ns_.erase(ev.uuid);
    return;
  }
  if (ev.event == VIR_DOMAIN_EVENT_STARTED) {
    // Not on an incoming migration: tagging needs the domain's job, which
    // the migration holds until it ends, and this thread (every later event
    // with it, the resume's sync too) would wait that long (1.1 s measured).
    // RESUMED_MIGRATED tags it.
    if (ev.detail != VIR_DOMAIN_EVENT_STARTED_MIGRATED) tag_domain_source(ev.uuid);
    if (ev.detail == VIR_DOMAIN_EVENT_STARTED_RESTORED || ev.detail == VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT)
      schedule_sync(ev.uuid, ev.name, {SyncTrigger::restored, what, {}}, ev.received_mono_ns);
    return;
  }
  if (ev.event == VIR_DOMAIN_EVENT_SUSPENDED) {
    std::lock_guard<std::mutex> lock(suspended_mu_);
    suspended_at_mono_ns_[ev.uuid] = ev.received_mono_ns;
  }
  if (ev.event == VIR_DOMAIN_EVENT_STOPPED || ev.event == VIR_DOMAIN_EVENT_SUSPENDED) {
    syncs_->cancel(ev.uuid);  // a sync against a paused or gone guest only burns its wait
  }
}

void Agent::refresh_inventory() {
  auto conn = session_->connection();
  if (!conn) return;
  virDomainPtr* doms = nullptr;
  const int n = virConnectListAllDomains(conn->get(), &doms, 0);
  if (n < 0) {
    spdlog::warn("{}", libvirt_error("virConnectListAllDomains").message());
    return;
  }
  std::vector<DomainRecord> records;
  std::vector<std::string> running;
  for (int i = 0; i < n; ++i) {
    DomainHandle d(doms[i]);
    auto rec = read_domain_record(d.get());
    if (!rec) {
      spdlog::warn("inventory: {}", rec.error().message());
      continue;
    }
    spdlog::info("vm={} uuid={}: {} vcpus={} pid={} debugfs={} agent={}", rec->name, rec->uuid, rec->state,
                 rec->vcpus, rec->qemu_pid, rec->debugfs_dirs.size(),
                 rec->agent_connected ? (*rec->agent_connected ? "connected" : "disconnected") : "none");
    if (rec->state == "running" || rec->state == "paused") running.push_back(rec->uuid);
    records.push_back(std::move(*rec));
  }
  std::free(doms);
  inventory_.replace_all(std::move(records));
  metrics_.domains = inventory_.size();
  for (const auto& u : running) tag_domain_source(u);
}

bool Agent::refresh_domain(const std::string& uuid, const char* state_from_event) {
  auto conn = session_->connection();
  if (!conn) {  // unknown: keep what we have until reconnect
    if (state_from_event) inventory_.set_state(uuid, state_from_event);
    return true;
  }
  auto dom = lookup_domain(*conn, uuid);
  if (!dom) return false;  // transient domains vanish after STOPPED
  if (auto rec = read_domain_record(dom->get())) {
    if (state_from_event) rec->state = state_from_event;
    inventory_.upsert(std::move(*rec));
  } else if (state_from_event) {
    inventory_.set_state(uuid, state_from_event);
  }
  metrics_.domains = inventory_.size();
  return true;
}

void Agent::tag_domain_source(const std::string& uuid) {
  // The live XML travels with a migration: naming this host and its TSC
  // rate there lets the destination's migrate-begin hook pin the frequency
  // without a controller round trip.
  if (host_.facts.tsc_khz == 0) return;
  auto conn = session_->connection();
  if (!conn) return;
  auto dom = lookup_domain(*conn, uuid);
  if (!dom) return;
  const std::string element = metadata_element(host_.facts.hostname, host_.facts.tsc_khz);
  if (virDomainSetMetadata(dom->get(), VIR_DOMAIN_METADATA_ELEMENT, element.c_str(), kMetadataPrefix, kMetadataUri,
                           VIR_DOMAIN_AFFECT_LIVE) < 0) {
    spdlog::debug("uuid={}: {}", uuid, libvirt_error("virDomainSetMetadata").message());
  }
}

void Agent::schedule_sync(const std::string& uuid, const std::string& name, SyncCause cause,
                          int64_t event_mono_ns) {
  const std::string reason = cause.text;  // for the log lines
  const bool migrated = cause.trigger == SyncTrigger::migrated;
  const AgentConfig cfg = config();
  SyncRequest req;
  req.uuid = uuid;
  req.name = name;
  req.cause = std::move(cause);
  req.event_mono_ns = event_mono_ns;
  req.options.policy = cfg.sync_policy_for(uuid, name);
  req.options.residual_threshold_ns = cfg.residual_threshold_ns;
  req.uncertainty_limit_ns = cfg.verify_uncertainty_limit_ns;
  req.options.backward = cfg.backward_step;
  req.options.max_backward_step_ns = cfg.max_backward_step_ns;
  // auto: the domain's own <clock> says whether QEMU re-injects missed RTC ticks.
  const auto domain = inventory_.get(uuid);
  if (domain) req.companion_socket = domain->companion_socket;
  req.qga_learn = cfg.qga_bias_from_companion;
  req.qga_bias = cfg.qga_bias_for(uuid, name);
  const bool rtc_reset =
      cfg.rtc_catchup_for(uuid, name).value_or(domain && rtc_catches_up(domain->clock_xml));
  req.options.rtc = rtc_reset ? agent_sync::RtcCatchupPolicy::reset_reinjection : agent_sync::RtcCatchupPolicy::none;
  req.retry.deadline = std::chrono::milliseconds(int64_t{cfg.sync_agent_wait_s} * 1000);
  if (migrated)
    req.options.settle_before_corrections = std::chrono::milliseconds(cfg.sync_settle_after_migration_ms);
  if (req.options.policy != SyncPolicy::off) choose_target(req, domain ? domain->clock_xml : "", cfg);
  if (req.options.policy == SyncPolicy::off) {
    spdlog::info("vm={} uuid={}: {}: sync policy off, guest clock left alone", name, uuid, reason);
    // The migration still ended here: its record gets its destination and
    // is closed (degraded: not repaired), so the VM's next migration has a
    // record of its own instead of joining this one.
    if (shipper_ && migrated) {
      SyncOutcome o;
      o.reason = reason;
      o.policy = SyncPolicy::off;
      o.message = "not repaired: sync_policy off";
      o.started_realtime_ns = o.finished_realtime_ns = time_.realtime_ns();
      shipper_->report_sync(uuid, name, o);
    }
    return;
  }
  auto conn = session_->connection();
  if (!conn) {
    metrics_.sync_failures++;
    spdlog::error("vm={} uuid={}: {}: sync not started: {}", name, uuid, reason, conn.error().message());
    return;
  }
  spdlog::info("vm={} uuid={}: {}: sync ({}, target {}: {}) scheduled, waiting up to {} s for the guest agent", name,
               uuid, reason, to_string(req.options.policy), req.target_mode,
               req.options.target.source + (req.prepare ? " (refined before the sync)" : ""), cfg.sync_agent_wait_s);
  syncs_->request(*conn, std::move(req));
}

void Agent::on_sync_done(const SyncRequest& req, const SyncOutcome& o) {
  inventory_.note_sync(req.uuid, o);
  if (auto b = syncs_->qga_bias()) metrics_.qga_reply_path_ns = b->reply_path_ns;
  metrics_.qga_bias_samples = static_cast<int64_t>(syncs_->qga_bias_samples());
  if (shipper_ && req.cause.trigger == SyncTrigger::controller_command)
    shipper_->report_command(req.cause.command_id, o.ok, o.message, o);
  if (o.cancelled) {
    metrics_.sync_cancelled++;
    spdlog::info("vm={} uuid={}: {}: sync superseded ({})", req.name, req.uuid, req.cause.text, o.message);
    return;
  }
  if (!o.ok) {
    // Never fails the migration: it already happened. Log, count, record.
    metrics_.sync_failures++;
    spdlog::error("vm={} uuid={}: {}: sync failed: {}", req.name, req.uuid, req.cause.text, o.message);
    return;
  }
  metrics_.syncs++;
  if (o.offset_after_ns) {
    std::lock_guard<std::mutex> lock(suspended_mu_);
    last_offset_ns_[req.uuid] = *o.offset_after_ns;
  }
  if (o.verdict == SyncVerdict::verified) metrics_.syncs_verified++;
  if (o.verdict == SyncVerdict::degraded) metrics_.syncs_degraded++;
  // A live migration's destination sync closes that migration at the
  // controller. A restore from a saved image has no migration record there
  // (nothing announced it), and attaching it to whatever migration of the VM
  // is open would close the wrong one: it stays local (last_sync, metrics).
  if (shipper_ && req.cause.trigger == SyncTrigger::migrated) shipper_->report_sync(req.uuid, req.name, o);
  if (o.residual_ns()) metrics_.residual_offset.observe(std::abs(seconds(*o.residual_ns())));
  metrics_.sync_latency.observe(seconds(o.sync_ns));
  spdlog::info("vm={} uuid={}: {}: {} policy={} target={} ns +- {} ns ({}) offset before={} ns after={} ns "
               "spread={} ns rtt={} ns corrections={} agent_wait={:.3f} s sync={:.3f} ms verdict={} ({})",
               req.name, req.uuid, req.cause.text, o.message, to_string(o.policy), o.target_offset_ns,
               o.target_uncertainty_ns, o.target_source, o.offset_before_ns.value_or(0), o.offset_after_ns.value_or(0),
               o.spread_ns, o.rtt_ns, o.corrections, seconds(o.agent_wait_ns), o.sync_ns / 1e6, to_string(o.verdict),
               o.verdict_reason);
}

}  // namespace migclock::agent
