// The measured runs: one booted guest, two session daemons, each event
// repeated per repair arm. Every run starts from a guest synced by migclock,
// so "before" is comparable across arms.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "migclock/agent_sync/apply_delay_memory.hpp"
#include "migclock/agent_sync/libvirt_channel.hpp"
#include "migclock/agent_sync/qga_json.hpp"
#include "migclock/agent_sync/report_json.hpp"
#include "migclock/agent_sync/sync_retry.hpp"
#include "timereport.hpp"

namespace migclock::timereport {

using namespace agent_sync;

const char* to_string(Arm a) {
  switch (a) {
    case Arm::migclock: return "migclock";
    case Arm::domtime_sync: return "virsh domtime --sync";
    case Arm::guest_set_time_host: return "guest-set-time(host time)";
  }
  return "?";
}

namespace {

const std::string kSandbox = std::string(MIGCLOCK_SOURCE_DIR) + "/tools/libvirt-sandbox/sandbox.sh";
const TimeSource& host_clock() { return SystemTimeSource::instance(); }

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) throw std::runtime_error(what + ": " + r.error().message());
  return std::move(r.value());
}

void sh(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

class Lab {
 public:
  explicit Lab(const Config& cfg) : cfg_(cfg) {
    root_ = cfg.sandbox_root.empty() ? "/tmp/mctr-" + std::to_string(getpid()) : cfg.sandbox_root;
    sh(kSandbox + " start 2 " + root_ + " >&2");
    sh(kSandbox + " create 0 " + cfg.domain + " " + root_ + " >&2");
    prioritize();
    reopen();
    // Wait for the agent and sync once: every run starts from a synced guest.
    CancelToken never;
    must(sync_when_agent_connects(*agent_, nullptr, host_clock(), SyncOptions{},
                                  RetryOptions{std::chrono::milliseconds(120'000), std::chrono::milliseconds(200)}, never),
         "first sync");
  }
  ~Lab() {
    agent_.reset();  // the channel holds the domain, the domain its connection
    domain_.reset();
    if (!cfg_.keep_sandbox) {
      std::system((kSandbox + " stop " + root_ + " >/dev/null; rm -rf " + root_).c_str());
    }
  }

  OffsetEstimate measure() { return must(measure_offset(*agent_, host_clock(), MeasureOptions{}), "measure"); }
  // Between runs the lab may step the guest back (a peer can leave it ahead).
  void resync() {
    SyncOptions o;
    o.backward = BackwardStepPolicy::allow;
    delays_.fill(o, cfg_.domain, "resync");
    auto r = must(sync_guest_clock(*agent_, nullptr, host_clock(), o), "resync");
    delays_.learn(r, cfg_.domain, "resync");
  }

  void suspend_resume() {
    if (virDomainSuspend(domain_->domain()) != 0) throw std::runtime_error(last_libvirt_error("suspend").message());
    std::this_thread::sleep_for(std::chrono::seconds(cfg_.suspend_seconds));
    if (virDomainResume(domain_->domain()) != 0) throw std::runtime_error(last_libvirt_error("resume").message());
  }

  void migrate() {
    const int dst = 1 - daemon_;
    domain_.reset();
    agent_.reset();
    sh(kSandbox + " migrate " + std::to_string(daemon_) + " " + std::to_string(dst) + " " + cfg_.domain + " " +
       std::to_string(cfg_.migration_port) + " " + root_ + " >&2");
    daemon_ = dst;
    prioritize();  // a fresh QEMU on the destination
    reopen();
  }

  Run repair(Arm arm) {
    Run run;
    switch (arm) {
      case Arm::migclock: {
        CancelToken never;
        // As the agent does per VM: start from the apply delay learned last time.
        SyncOptions o;
        delays_.fill(o, cfg_.domain, event_kind_);
        // As the agent does after RESUMED_MIGRATED (agent.cpp schedule_sync).
        if (event_kind_ == "migrated") o.settle_before_corrections = std::chrono::milliseconds(300);
        // Polling every 10 ms stands in for the daemon's wake-up on the
        // agent-connected event: "connected" is then known to 10 ms.
        auto synced = sync_when_agent_connects(*agent_, nullptr, host_clock(), o,
                                               RetryOptions{std::chrono::milliseconds(60'000), std::chrono::milliseconds(10)},
                                               never);
        if (!synced) {
          run.error = synced.error().message();
          run.after_event = run.before;  // unknown: the sync failed before reporting it
          run.after_repair.push_back(measure());
          break;
        }
        auto& r = synced.value();
        delays_.learn(r.report, cfg_.domain, event_kind_);
        run.sync_report_json = agent_sync::to_json(r.report);
        run.after_event = *r.report.before;
        // A fresh measurement, as for the peers: the sync's own last one
        // decided when to stop, so it is not an independent judge
        // (it stays in the sync report).
        run.after_repair.push_back(measure());
        run.attempts = r.attempts;
        run.connected_to_synced_ns = r.report.finished_at_host_ns - r.connected_at_ns;
        if (!r.report.steps.empty()) {
          const auto& first = r.report.steps.front();
          run.connected_to_set_ns = first.sent_at_mono_ns + first.assumed_delay_ns - r.connected_at_ns;
        }
        break;
      }
      case Arm::domtime_sync:
        run.after_event = measure();
        // What `virsh domtime --sync` does: guest-set-time without a time,
        // so the guest reads its RTC (whole seconds).
        if (virDomainSetTime(domain_->domain(), 0, 0, VIR_DOMAIN_TIME_SYNC) != 0) {
          throw std::runtime_error(last_libvirt_error("virDomainSetTime(SYNC)").message());
        }
        run.after_repair.push_back(measure());
        break;
      case Arm::guest_set_time_host:
        run.after_event = measure();
        for (int call = 0; call < 2; ++call) {
          const int64_t now = host_clock().realtime_ns();
          auto reply = must(agent_->command(guest_set_time_command(now), std::chrono::milliseconds(5000)),
                            "guest-set-time");
          auto ok = parse_empty_return(reply, "guest-set-time");
          if (!ok) throw std::runtime_error(ok.error().message());
          run.after_repair.push_back(measure());
        }
        break;
    }
    return run;
  }

 private:
  void prioritize() {
    if (cfg_.nice) sh(kSandbox + " prioritize " + std::to_string(*cfg_.nice) + " " + root_ + " >&2");
  }

  void reopen() {
    domain_ = must(LibvirtDomainHandle::open(
                       "qemu+unix:///session?socket=" + root_ + "/d" + std::to_string(daemon_) + "/run/libvirt/libvirt-sock",
                       cfg_.domain),
                   "open domain");
    agent_ = std::make_unique<LibvirtGuestAgentChannel>(domain_);
  }

  const Config& cfg_;
  std::string root_;
  int daemon_ = 0;
  std::shared_ptr<LibvirtDomainHandle> domain_;
  std::unique_ptr<LibvirtGuestAgentChannel> agent_;
  ApplyDelayMemory delays_;  // as the agent keeps per VM (agent/sync_runner.cpp)

 public:
  // As the agent labels events for ApplyDelayMemory.
  void set_event_kind(const std::string& event) { event_kind_ = event == "migration" ? "migrated" : "resumed"; }

 private:
  std::string event_kind_ = "resumed";
};

}  // namespace

std::vector<Series> run_all(const Config& cfg) {
  Lab lab(cfg);
  std::vector<Series> all;
  const Arm arms[] = {Arm::migclock, Arm::domtime_sync, Arm::guest_set_time_host};
  struct Event {
    std::string name;
    bool enabled;
    void (Lab::*fire)();
  };
  const Event events[] = {
      {"suspend_" + std::to_string(cfg.suspend_seconds) + "s", cfg.run_suspend, &Lab::suspend_resume},
      {"migration", cfg.run_migrate, &Lab::migrate},
  };
  for (const auto& ev : events) {
    if (!ev.enabled) continue;
    lab.set_event_kind(ev.name);
    for (Arm arm : arms) {
      Series s{ev.name, arm, {}};
      for (int i = 0; i < cfg.repeats; ++i) {
        lab.resync();
        const OffsetEstimate before = lab.measure();
        (lab.*ev.fire)();
        Run run = lab.repair(arm);
        run.before = before;
        s.runs.push_back(run);
        std::fprintf(stderr, "timereport: %s / %s run %d done\n", ev.name.c_str(), to_string(arm), i + 1);
      }
      all.push_back(std::move(s));
    }
  }
  return all;
}

}  // namespace migclock::timereport
