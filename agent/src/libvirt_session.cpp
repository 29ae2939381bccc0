#include "migclock/agent/libvirt_session.hpp"

#include <libvirt/libvirt-qemu.h>
#include <spdlog/spdlog.h>

namespace migclock::agent {

namespace {

const char* lifecycle_name(int event) {
  switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED: return "DEFINED";
    case VIR_DOMAIN_EVENT_UNDEFINED: return "UNDEFINED";
    case VIR_DOMAIN_EVENT_STARTED: return "STARTED";
    case VIR_DOMAIN_EVENT_SUSPENDED: return "SUSPENDED";
    case VIR_DOMAIN_EVENT_RESUMED: return "RESUMED";
    case VIR_DOMAIN_EVENT_STOPPED: return "STOPPED";
    case VIR_DOMAIN_EVENT_SHUTDOWN: return "SHUTDOWN";
    case VIR_DOMAIN_EVENT_PMSUSPENDED: return "PMSUSPENDED";
    case VIR_DOMAIN_EVENT_CRASHED: return "CRASHED";
    default: return "UNKNOWN";
  }
}

const char* detail_name(int event, int detail) {
  switch (event) {
    case VIR_DOMAIN_EVENT_STARTED:
      switch (detail) {
        case VIR_DOMAIN_EVENT_STARTED_BOOTED: return "BOOTED";
        case VIR_DOMAIN_EVENT_STARTED_MIGRATED: return "MIGRATED";
        case VIR_DOMAIN_EVENT_STARTED_RESTORED: return "RESTORED";
        case VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT: return "FROM_SNAPSHOT";
        case VIR_DOMAIN_EVENT_STARTED_WAKEUP: return "WAKEUP";
      }
      break;
    case VIR_DOMAIN_EVENT_SUSPENDED:
      switch (detail) {
        case VIR_DOMAIN_EVENT_SUSPENDED_PAUSED: return "PAUSED";
        case VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED: return "MIGRATED";
        case VIR_DOMAIN_EVENT_SUSPENDED_IOERROR: return "IOERROR";
        case VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG: return "WATCHDOG";
        case VIR_DOMAIN_EVENT_SUSPENDED_RESTORED: return "RESTORED";
        case VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT: return "FROM_SNAPSHOT";
        case VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR: return "API_ERROR";
        case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY: return "POSTCOPY";
        case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED: return "POSTCOPY_FAILED";
      }
      break;
    case VIR_DOMAIN_EVENT_RESUMED:
      switch (detail) {
        case VIR_DOMAIN_EVENT_RESUMED_UNPAUSED: return "UNPAUSED";
        case VIR_DOMAIN_EVENT_RESUMED_MIGRATED: return "MIGRATED";
        case VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT: return "FROM_SNAPSHOT";
        case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY: return "POSTCOPY";
      }
      break;
    case VIR_DOMAIN_EVENT_STOPPED:
      switch (detail) {
        case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return "SHUTDOWN";
        case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return "DESTROYED";
        case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return "CRASHED";
        case VIR_DOMAIN_EVENT_STOPPED_MIGRATED: return "MIGRATED";
        case VIR_DOMAIN_EVENT_STOPPED_SAVED: return "SAVED";
        case VIR_DOMAIN_EVENT_STOPPED_FAILED: return "FAILED";
        case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT: return "FROM_SNAPSHOT";
      }
      break;
  }
  return nullptr;
}

void noop_timer(int, void*) {}

}  // namespace

std::string describe(const DomainEvent& ev) {
  switch (ev.kind) {
    case DomainEvent::Kind::connected: return "libvirt connected";
    case DomainEvent::Kind::disconnected: return "libvirt disconnected";
    case DomainEvent::Kind::agent_lifecycle:
      return ev.agent_state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED ? "guest agent connected"
                                                                                        : "guest agent disconnected";
    case DomainEvent::Kind::migration_iteration: return "migration iteration " + std::to_string(ev.iteration);
    case DomainEvent::Kind::qmp: return "QEMU " + ev.qmp_event;
    case DomainEvent::Kind::lifecycle: break;
  }
  std::string s = lifecycle_name(ev.event);
  if (const char* d = detail_name(ev.event, ev.detail)) s += std::string("_") + d;
  else s += "_" + std::to_string(ev.detail);
  return s;
}

LibvirtSession::LibvirtSession(LibvirtOptions opts, Sink sink, const TimeSource& time)
    : opts_(std::move(opts)), sink_(std::move(sink)), time_(time) {}

LibvirtSession::~LibvirtSession() { stop(); }

void LibvirtSession::start() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    quiet_libvirt_errors();
    // Must precede every connection: events are only delivered through an
    // event loop that existed when the connection was opened.
    if (virEventRegisterDefaultImpl() < 0) spdlog::critical("virEventRegisterDefaultImpl failed");
  });
  // A periodic wake-up lets the loop notice stop() without a signal.
  wake_timer_ = virEventAddTimeout(250, noop_timer, nullptr, nullptr);
  loop_thread_ = std::thread([this] {
    while (!stopping_.load()) {
      if (virEventRunDefaultImpl() < 0) spdlog::warn("libvirt event loop: {}", libvirt_error("iteration").message());
    }
  });
  if (auto st = connect_once(); !st) spdlog::warn("{} (retrying every {} s)", st.error().message(), opts_.reconnect_interval_s);
  supervisor_ = std::thread([this] { supervise(); });
}

void LibvirtSession::stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  drop_connection();
  if (loop_thread_.joinable()) loop_thread_.join();
  if (wake_timer_ >= 0) virEventRemoveTimeout(wake_timer_);
}

Result<ConnHandle> LibvirtSession::connection() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!conn_) return make_error(errc::unavailable, "libvirt " + opts_.uri + ": not connected");
  return conn_;
}

std::string LibvirtSession::uri() const {
  std::lock_guard<std::mutex> lock(mu_);
  return opts_.uri;
}

void LibvirtSession::reconfigure(const LibvirtOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool changed = opts.uri != opts_.uri || opts.keepalive_interval_s != opts_.keepalive_interval_s ||
                       opts.keepalive_count != opts_.keepalive_count;
  opts_ = opts;
  if (changed) {
    reconfigure_ = true;
    cv_.notify_all();
  }
}

Status LibvirtSession::connect_once() {
  LibvirtOptions opts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    opts = opts_;
  }
  virConnectPtr raw = virConnectOpen(opts.uri.c_str());
  if (!raw) return libvirt_error("virConnectOpen " + opts.uri);
  ConnHandle conn(raw, ConnCloser{});
  if (opts.keepalive_interval_s > 0 &&
      virConnectSetKeepAlive(raw, opts.keepalive_interval_s, opts.keepalive_count) < 0) {
    spdlog::warn("{}", libvirt_error("virConnectSetKeepAlive").message());
  }
  if (virConnectRegisterCloseCallback(raw, &LibvirtSession::on_close, this, nullptr) < 0)
    return libvirt_error("virConnectRegisterCloseCallback");
  const int lc = virConnectDomainEventRegisterAny(raw, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(&LibvirtSession::on_lifecycle), this,
                                                  nullptr);
  const int ag = virConnectDomainEventRegisterAny(raw, nullptr, VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(&LibvirtSession::on_agent), this,
                                                  nullptr);
  // Optional: without it a continuity target after a migration falls back
  // to dating the pause by events (sync_target.cpp).
  const int it = virConnectDomainEventRegisterAny(raw, nullptr, VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
                                                  VIR_DOMAIN_EVENT_CALLBACK(&LibvirtSession::on_iteration), this,
                                                  nullptr);
  if (it < 0) spdlog::info("{}", libvirt_error("migration iteration events").message());
  // Optional too: QEMU's timestamps of STOP/RESUME date a pause without the
  // event delivery delays (sync_target.cpp).
  const int qmp = virConnectDomainQemuMonitorEventRegister(raw, nullptr, "^(STOP|RESUME)$", &LibvirtSession::on_qmp,
                                                           this, nullptr,
                                                           VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX);
  if (qmp < 0) spdlog::info("{}", libvirt_error("QEMU STOP/RESUME events").message());
  if (lc < 0 || ag < 0) {
    if (it >= 0) virConnectDomainEventDeregisterAny(raw, it);
    if (qmp >= 0) virConnectDomainQemuMonitorEventDeregister(raw, qmp);
    auto err = libvirt_error("virConnectDomainEventRegisterAny");
    if (lc >= 0) virConnectDomainEventDeregisterAny(raw, lc);
    if (ag >= 0) virConnectDomainEventDeregisterAny(raw, ag);
    virConnectUnregisterCloseCallback(raw, &LibvirtSession::on_close);
    return err;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn_ = conn;
    lifecycle_cb_ = lc;
    agent_cb_ = ag;
    iteration_cb_ = it;
    qmp_cb_ = qmp;
    lost_ = false;
  }
  if (ever_connected_.exchange(true)) reconnects_++;
  connected_ = true;
  spdlog::info("libvirt: connected to {} (keepalive {} s x {})", opts.uri, opts.keepalive_interval_s,
               opts.keepalive_count);
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::connected;
  emit(std::move(ev), nullptr);
  return {};
}

void LibvirtSession::drop_connection() {
  ConnHandle conn;
  int lc = -1, ag = -1, it = -1, qmp = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn = std::move(conn_);
    conn_.reset();
    lc = lifecycle_cb_;
    ag = agent_cb_;
    it = iteration_cb_;
    qmp = qmp_cb_;
    lifecycle_cb_ = agent_cb_ = iteration_cb_ = qmp_cb_ = -1;
  }
  if (!conn) return;
  connected_ = false;
  // On a dead connection these fail; the registrations die with it anyway.
  if (lc >= 0) virConnectDomainEventDeregisterAny(conn.get(), lc);
  if (ag >= 0) virConnectDomainEventDeregisterAny(conn.get(), ag);
  if (it >= 0) virConnectDomainEventDeregisterAny(conn.get(), it);
  if (qmp >= 0) virConnectDomainQemuMonitorEventDeregister(conn.get(), qmp);
  virConnectUnregisterCloseCallback(conn.get(), &LibvirtSession::on_close);
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::disconnected;
  emit(std::move(ev), nullptr);
}

void LibvirtSession::supervise() {
  while (!stopping_.load()) {
    if (!connected_.load()) {
      auto st = connect_once();
      if (st) continue;
      spdlog::debug("{}", st.error().message());
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(opts_.reconnect_interval_s), [this] { return stopping_.load(); });
      continue;
    }
    bool drop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_.load() || lost_ || reconfigure_; });
      drop = !stopping_.load() && (lost_ || reconfigure_);
      if (lost_) spdlog::warn("libvirt: connection to {} lost; reconnecting", opts_.uri);
      if (reconfigure_) spdlog::info("libvirt: reconnecting with new settings ({})", opts_.uri);
      lost_ = reconfigure_ = false;
    }
    if (drop) drop_connection();
  }
}

void LibvirtSession::emit(DomainEvent ev, virDomainPtr dom) {
  ev.received_mono_ns = time_.monotonic_raw_ns();
  if (dom) {
    char uuid[VIR_UUID_STRING_BUFLEN] = {0};
    if (virDomainGetUUIDString(dom, uuid) == 0) ev.uuid = uuid;
    if (const char* n = virDomainGetName(dom)) ev.name = n;
  }
  if (sink_) sink_(std::move(ev));
}

void LibvirtSession::on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque) {
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::lifecycle;
  ev.event = event;
  ev.detail = detail;
  static_cast<LibvirtSession*>(opaque)->emit(std::move(ev), dom);
}

void LibvirtSession::on_agent(virConnectPtr, virDomainPtr dom, int state, int reason, void* opaque) {
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::agent_lifecycle;
  ev.agent_state = state;
  ev.agent_reason = reason;
  static_cast<LibvirtSession*>(opaque)->emit(std::move(ev), dom);
}

void LibvirtSession::on_iteration(virConnectPtr, virDomainPtr dom, int iteration, void* opaque) {
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::migration_iteration;
  ev.iteration = iteration;
  static_cast<LibvirtSession*>(opaque)->emit(std::move(ev), dom);
}

void LibvirtSession::on_qmp(virConnectPtr, virDomainPtr dom, const char* event, long long seconds, unsigned int micros,
                            const char*, void* opaque) {
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::qmp;
  ev.qmp_event = event ? event : "";
  if (seconds >= 0) ev.qmp_realtime_ns = static_cast<int64_t>(seconds) * 1'000'000'000 + int64_t{micros} * 1000;
  static_cast<LibvirtSession*>(opaque)->emit(std::move(ev), dom);
}

void LibvirtSession::on_close(virConnectPtr, int reason, void* opaque) {
  auto* self = static_cast<LibvirtSession*>(opaque);
  spdlog::warn("libvirt: connection closed (reason {})", reason);
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->lost_ = true;
  }
  self->cv_.notify_all();
}

}  // namespace migclock::agent
