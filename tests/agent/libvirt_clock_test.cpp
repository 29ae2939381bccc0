// The sync's target against real libvirt and real QEMU (agent_sync/
// clock_target.hpp): a TCG guest defined with
// <clock offset='variable' adjustment='3600' basis='utc'/> under two session
// daemons (tools/libvirt-sandbox), two real agents, the hook and the real
// controller. In order, on one guest:
//   domain_clock: the guest keeps its hour across a suspend and a live
//                 migration (before this, every sync failed: "would step the
//                 guest clock back by 3598977643225 ns");
//   continuity:   a guest set deliberately off by an odd amount keeps that
//                 offset across a suspend and a live migration;
// then, each on a fresh guest: offset='timezone', 'localtime' and
// 'absolute' across a suspend and a live migration.
// "Keeps" is judged by this test's own measurement through qemu-ga
// (virDomainQemuAgentCommand, lowest-RTT samples) before the pause and after
// the agent's sync. Bounds are correctness bounds; the measured numbers are
// printed ("[clock] ...").
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "agent_process.hpp"
#include "migclock/agent_sync/libvirt_channel.hpp"
#include "migclock/agent_sync/offset_measurement.hpp"
#include "migclock/agent_sync/tz_offset.hpp"

namespace migclock::agent {
namespace {

using namespace migclock::agent::testing;
namespace fs = std::filesystem;
using std::chrono::seconds;

const std::string kSandbox = std::string(MIGCLOCK_SOURCE_DIR) + "/tools/libvirt-sandbox/sandbox.sh";
constexpr int64_t kS = 1'000'000'000;
// Correctness bounds (the blackouts are 0.1-3 s; precision is measured
// elsewhere): how close a target must be to the pre-pause offset, and how
// close the guest must come back to it. The second is the other real-libvirt
// tests' bound: on this shared machine a sync right after a migration has
// ended 18 ms off its target under load (its own residual, in last_sync).
constexpr int64_t kTargetWithinNs = 20'000'000;
constexpr int64_t kBackWithinNs = 50'000'000;

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class DomainClock : public ::testing::Test {
 protected:
  static inline std::string skip_reason, setup_failure, root, name, token_file;
  static inline std::unique_ptr<AgentProcess> agents[2];
  static inline int port = 0, ctl_port = 0;
  static inline pid_t controller = -1;

  // Both agents' latest lines: a failure on one host often starts on the other.
  static std::string logs() {
    std::string out;
    for (int i = 0; i < 2; ++i)
      if (agents[i]) out += "\n--- agent on host" + std::to_string(i) + " (last lines) ---\n" + agents[i]->log_tail(50);
    return out;
  }
  static inline std::string vm_section;  // per-VM config both agents run with
  static inline bool any_failure = false;

  static std::string home(int i) { return root + "/d" + std::to_string(i); }
  static std::string uri(int i) { return "qemu+unix:///session?socket=" + home(i) + "/run/libvirt/libvirt-sock"; }
  static std::string conf(int i) { return root + "/agent" + std::to_string(i) + ".conf"; }
  // One agent token per host (a token acts for its own host only);
  // token_file is host0's, which also reads the migrations.
  static std::string token_file_of(int i) { return root + "/agent" + std::to_string(i) + ".token"; }

  static void write_conf(int i) {
    write_text(conf(i), "libvirt_uri = " + uri(i) + "\nsocket = " + home(i) + "/migclock/agent.sock\nsocket_group = kvm\n" +
                            "state_dir = " + root + "/state" + std::to_string(i) + "\nhostname = host" +
                            std::to_string(i) + "\ncontroller_url = http://127.0.0.1:" + std::to_string(ctl_port) +
                            "\ncontroller_token_file = " + token_file_of(i) + "\noutbox_retry_s = 1\nqga_bias_from_companion = true\n" + vm_section);
  }

  static void SetUpTestSuite() {
    std::signal(SIGPIPE, SIG_IGN);
    if (geteuid() != 0) { skip_reason = "needs root (sandbox daemon users, /etc/libvirt/hooks)"; return; }
#ifndef MIGCLOCK_CONTROLLER_BIN
    skip_reason = "migclock-controller is not built in this tree";
    return;
#else
    for (const char* bin : {"/usr/sbin/libvirtd", "/usr/bin/qemu-system-x86_64", "/usr/bin/virsh", "/bin/busybox",
                            "/usr/sbin/qemu-ga"}) {
      if (access(bin, X_OK) != 0) {
        skip_reason = std::string("missing ") + bin + " (tools/setup.sh installs tools/deps/agent-infra.txt)";
        return;
      }
    }
    root = "/tmp/mcclk-" + std::to_string(getpid());
    name = "ck" + std::to_string(getpid());
    port = 47300 + getpid() % 500;
    ctl_port = 17500 + getpid() % 500;
    fs::create_directories(root + "/ctl");
    for (int i = 0; i < 2; ++i) {
      const std::string token =
          create_controller_token(MIGCLOCK_CONTROLLER_BIN, root + "/ctl", "agent", "host" + std::to_string(i));
      if (token.empty()) { setup_failure = "controller token create failed"; return; }
      write_text(token_file_of(i), token + "\n");
    }
    token_file = token_file_of(0);
    // Up before the agents: a migration's continuity needs both hosts'
    // clock offsets measured, which their first heartbeat does.
    controller = start_plain_controller(MIGCLOCK_CONTROLLER_BIN, ctl_port, root + "/ctl", root + "/controller.log");
    const auto inst = run_process({MIGCLOCK_HOOK_BIN, "install", "--json"}, "", {"PATH=/usr/bin:/bin"});
    if (inst.rc != 0) { setup_failure = "hook install failed: " + inst.out + inst.err; return; }
    if (sh(kSandbox + " start 2 " + root + " >/dev/null") != 0) { setup_failure = "sandbox start failed"; return; }
    for (int i = 0; i < 2; ++i) {
      fs::create_directories(home(i) + "/migclock");
      sh("chown migclock-sb" + std::to_string(i) + " " + home(i) + "/migclock");
      write_conf(i);
      agents[i] = std::make_unique<AgentProcess>(std::vector<std::string>{"--config", conf(i), "--log-level", "debug"},
                                                 home(i) + "/migclock/agent.sock",
                                                 root + "/agent" + std::to_string(i) + ".log");
      if (!agents[i]->started()) { setup_failure = "agent " + std::to_string(i) + ": " + agents[i]->log_text(); return; }
    }
    if (sh("MIGCLOCK_GUEST_CLOCK=\"offset='variable' adjustment='3600' basis='utc'\" " + kSandbox + " create 0 " + name +
           " " + root + " >/dev/null") != 0) {
      setup_failure = "guest create failed";
      return;
    }
    if (sh(kSandbox + " wait-agent 0 " + name + " 90 " + root + " >/dev/null") != 0)
      setup_failure = "guest agent never answered (see " + root + "/d0/console-" + name + ".log)";
#endif
  }

  static void TearDownTestSuite() {
    if (!skip_reason.empty()) return;
    for (auto& a : agents) {
      if (a) {
        EXPECT_EQ(a->stop(), 0);
      }
      a.reset();
    }
    stop_process(controller);
    sh(kSandbox + " stop " + root + " >/dev/null 2>&1");
#ifdef MIGCLOCK_HOOK_BIN
    run_process({MIGCLOCK_HOOK_BIN, "uninstall"}, "", {"PATH=/usr/bin:/bin"});
#endif
    // Kept for its logs after a failure, or when asked (MIGCLOCK_TEST_KEEP=1).
    if (!any_failure && !std::getenv("MIGCLOCK_TEST_KEEP")) fs::remove_all(root);
  }

  void TearDown() override { any_failure = any_failure || HasFailure(); }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_TRUE(setup_failure.empty()) << setup_failure;
  }

  // guest − host through qemu-ga, from this test process.
  static agent_sync::OffsetEstimate measure(int daemon) {
    auto dom = agent_sync::LibvirtDomainHandle::open(uri(daemon), name);
    EXPECT_TRUE(dom.ok()) << dom.error().message();
    if (!dom) return {};
    agent_sync::LibvirtGuestAgentChannel agent(*dom);
    auto e = agent_sync::measure_offset(agent, SystemTimeSource::instance(), agent_sync::MeasureOptions{16, 4});
    EXPECT_TRUE(e.ok()) << e.error().message();
    return e.ok() ? *e : agent_sync::OffsetEstimate{};
  }

  static int64_t live_adjustment_s(int daemon) {
    const auto r = run_process({"/usr/bin/virsh", "-q", "-c", uri(daemon), "dumpxml", name}, "", {"PATH=/usr/bin:/bin"});
    const auto at = r.out.find("adjustment='");
    EXPECT_NE(at, std::string::npos) << r.out;
    return at == std::string::npos ? 0 : std::stoll(r.out.substr(at + 12));
  }

  static bool vm_entry(int i, rapidjson::Document& out) {
    const auto r = http_request(agents[i]->socket(), "GET", "/api/v1/vms");
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    if (d.HasParseError() || !d.IsArray()) return false;
    for (auto& v : d.GetArray()) {
      if (v.IsObject() && v.HasMember("name") && name == v["name"].GetString()) {
        out.CopyFrom(v, out.GetAllocator());
        return true;
      }
    }
    return false;
  }

  static bool wait_sync(int i, const std::string& reason, int64_t after_ns, rapidjson::Document& sync) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      rapidjson::Document vm;
      if (vm_entry(i, vm) && vm["last_sync"].IsObject()) {
        const auto& s = vm["last_sync"];
        if (reason == s["reason"].GetString() && s["finished_ns"].GetInt64() > after_ns) {
          sync.CopyFrom(s, sync.GetAllocator());
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  static void reload_both(const std::string& section) {
    vm_section = section;
    for (int i = 0; i < 2; ++i) {
      const size_t from = agents[i]->log_text().size();
      write_conf(i);
      kill(agents[i]->pid(), SIGHUP);
      ASSERT_TRUE(agents[i]->wait_for_log("SIGHUP: configuration reloaded", seconds(10), from));
    }
  }

  static void suspend_resume(int i, int pause_s) {
    ASSERT_EQ(sh("virsh -q -c '" + uri(i) + "' suspend " + name + " >/dev/null"), 0);
    std::this_thread::sleep_for(seconds(pause_s));
    ASSERT_EQ(sh("virsh -q -c '" + uri(i) + "' resume " + name + " >/dev/null"), 0);
  }

  static void migrate(int from, int to) {
    ASSERT_EQ(virsh_migrate_live(name, uri(from), uri(to), home(from), home(to), port), 0);
  }

  // The controller's record of migration `id` once closed (verified or
  // degraded); an empty id: the VM's first closed migration.
  static bool closed_migration(const std::string& uuid, const std::string& id, rapidjson::Document& out) {
    std::string token = read_text(token_file);
    token.pop_back();
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      rapidjson::Document d;
      d.Parse(controller_request(ctl_port, token, "/api/v1/migrations?vm=" + uuid).c_str());
      if (!d.HasParseError() && d.IsObject() && d.HasMember("items")) {
        for (auto& m : d["items"].GetArray()) {
          const std::string phase = m["phase"].GetString();
          if ((id.empty() || id == m["id"].GetString()) && (phase == "verified" || phase == "degraded")) {
            out.CopyFrom(m, out.GetAllocator());
            return true;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return false;
  }

  // Replaces the guest with a fresh one on daemon 0 whose <clock> has
  // `clock_attrs` (a domain's clock is fixed at QEMU's start): a new name,
  // the old one destroyed wherever it runs.
  static void recreate_guest(const std::string& suffix, const std::string& clock_attrs) {
    for (int i = 0; i < 2; ++i) {
      sh("virsh -q -c '" + uri(i) + "' destroy " + name + " >/dev/null 2>&1");
      sh("virsh -q -c '" + uri(i) + "' undefine " + name + " >/dev/null 2>&1");
    }
    name = "ck" + std::to_string(getpid()) + suffix;
    ASSERT_EQ(sh("MIGCLOCK_GUEST_CLOCK=\"" + clock_attrs + "\" " + kSandbox + " create 0 " + name + " " + root +
                 " >/dev/null"),
              0);
    ASSERT_EQ(sh(kSandbox + " wait-agent 0 " + name + " 90 " + root + " >/dev/null"), 0)
        << "guest agent never answered (see " << root << "/d0/console-" << name << ".log)";
  }

  // A sync on request on daemon 0, expected to succeed; its last_sync.
  static void sync_on_request(rapidjson::Document& s) {
    const int64_t t0 = now_ns();
    ASSERT_EQ(http_request(agents[0]->socket(), "POST", "/api/v1/vms/" + name + "/sync").status, 202);
    ASSERT_TRUE(wait_sync(0, "on request", t0, s)) << logs();
    ASSERT_TRUE(s["ok"].GetBool()) << s["message"].GetString() << logs();
  }

  // A 3 s suspend on daemon 0, then a live migration to daemon 1: after
  // each, the guest is back within kBackWithinNs of where it was before,
  // whose offset must itself be within kTargetWithinNs of `expected_ns`
  // (nullopt: any offset, as with offset='absolute'). The sync's target
  // mode is checked against `mode`.
  static void keeps_offset_across_suspend_and_migration(const char* what, std::optional<int64_t> expected_ns,
                                                         const char* mode) {
    auto before = measure(0);
    if (expected_ns) {
      EXPECT_LT(std::llabs(before.median_offset_ns - *expected_ns), kTargetWithinNs);
    }
    int64_t t0 = now_ns();
    suspend_resume(0, 3);
    rapidjson::Document s;
    ASSERT_TRUE(wait_sync(0, "RESUMED_UNPAUSED", t0, s)) << logs();
    ASSERT_TRUE(s["ok"].GetBool()) << s["message"].GetString() << logs();
    EXPECT_STREQ(s["target"]["mode"].GetString(), mode) << s["target"]["source"].GetString();
    // It lost the pause, and was stepped forward by it.
    EXPECT_LT(s["offset_before_ns"].GetInt64() - before.median_offset_ns, -2'500'000'000);
    auto after = measure(0);
    print((std::string(what) + " suspend 3 s").c_str(), before, after, s);
    EXPECT_LT(std::llabs(after.median_offset_ns - before.median_offset_ns), kBackWithinNs);

    before = after;
    t0 = now_ns();
    migrate(0, 1);
    rapidjson::Document m;
    ASSERT_TRUE(wait_sync(1, "RESUMED_MIGRATED", t0, m)) << logs();
    ASSERT_TRUE(m["ok"].GetBool()) << m["message"].GetString() << logs();
    EXPECT_STREQ(m["target"]["mode"].GetString(), mode) << m["target"]["source"].GetString();
    after = measure(1);
    print((std::string(what) + " live migration").c_str(), before, after, m);
    EXPECT_LT(std::llabs(after.median_offset_ns - before.median_offset_ns), kBackWithinNs);
  }

  static void print(const char* what, const agent_sync::OffsetEstimate& before, const agent_sync::OffsetEstimate& after,
                    const rapidjson::Value& s) {
    std::printf("[clock] %s: pre-pause offset %.6f s (+-%.3f ms), after sync %.6f s (+-%.3f ms): moved %+.3f ms; "
                "agent: target %.6f s +- %.3f ms, residual %+.3f ms, source: %s\n",
                what, before.median_offset_ns / 1e9, before.asymmetry_bound_ns / 1e6, after.median_offset_ns / 1e9,
                after.asymmetry_bound_ns / 1e6, (after.median_offset_ns - before.median_offset_ns) / 1e6,
                s["target"]["offset_ns"].GetInt64() / 1e9, s["target"]["uncertainty_ns"].GetInt64() / 1e6,
                s["residual_ns"].IsInt64() ? s["residual_ns"].GetInt64() / 1e6 : 0.0,
                s["target"]["source"].GetString());
  }
};

// Bring the guest to its domain clock first (it booted from an RTC read to
// the second), then suspend it.
TEST_F(DomainClock, AnHourAheadByDesignKeepsItsHourAcrossASuspend) {
  const int64_t t0 = now_ns();
  ASSERT_EQ(http_request(agents[0]->socket(), "POST", "/api/v1/vms/" + name + "/sync").status, 202);
  rapidjson::Document s0;
  ASSERT_TRUE(wait_sync(0, "on request", t0, s0)) << logs();
  ASSERT_TRUE(s0["ok"].GetBool()) << s0["message"].GetString() << logs();
  EXPECT_STREQ(s0["target"]["mode"].GetString(), "domain_clock");
  EXPECT_EQ(s0["target"]["offset_ns"].GetInt64(), 3600 * kS) << s0["target"]["source"].GetString();

  const int64_t adjustment = live_adjustment_s(0);  // libvirt follows the guest's RTC writes, to the second
  EXPECT_LE(std::llabs(adjustment - 3600), 1);
  const auto before = measure(0);
  EXPECT_LT(std::llabs(before.median_offset_ns - 3600 * kS), kTargetWithinNs);
  const int64_t t1 = now_ns();
  suspend_resume(0, 3);
  rapidjson::Document s;
  ASSERT_TRUE(wait_sync(0, "RESUMED_UNPAUSED", t1, s)) << logs();
  ASSERT_TRUE(s["ok"].GetBool()) << s["message"].GetString() << logs();
  // After a pause a variable clock is kept by continuity: the live
  // adjustment follows the guest's RTC writes to a second only.
  EXPECT_STREQ(s["target"]["mode"].GetString(), "continuity") << s["target"]["source"].GetString();
  EXPECT_LT(std::llabs(s["target"]["offset_ns"].GetInt64() - before.median_offset_ns), kTargetWithinNs)
      << s["target"]["source"].GetString();
  EXPECT_LE(std::llabs(s["target"]["offset_ns"].GetInt64() - live_adjustment_s(0) * kS), 1'500'000'000);
  // It lost the pause relative to its hour, and was stepped forward by it.
  EXPECT_LT(s["offset_before_ns"].GetInt64() - before.median_offset_ns, -2'500'000'000);
  EXPECT_LT(std::llabs(s["residual_ns"].GetInt64()), kBackWithinNs);
  const auto after = measure(0);
  print("domain_clock suspend 3 s", before, after, s);
  EXPECT_LT(std::llabs(after.median_offset_ns - before.median_offset_ns), kBackWithinNs);
}

TEST_F(DomainClock, AnHourAheadByDesignKeepsItsHourAcrossALiveMigration) {
  const auto before = measure(0);
  const int64_t t0 = now_ns();
  migrate(0, 1);
  rapidjson::Document s;
  ASSERT_TRUE(wait_sync(1, "RESUMED_MIGRATED", t0, s)) << logs();
  ASSERT_TRUE(s["ok"].GetBool()) << s["message"].GetString() << logs();
  EXPECT_STREQ(s["target"]["mode"].GetString(), "continuity") << s["target"]["source"].GetString();
  EXPECT_LT(std::llabs(s["target"]["offset_ns"].GetInt64() - before.median_offset_ns), kTargetWithinNs)
      << s["target"]["source"].GetString();
  EXPECT_LE(std::llabs(s["target"]["offset_ns"].GetInt64() - live_adjustment_s(1) * kS), 1'500'000'000);
  const auto after = measure(1);
  print("domain_clock live migration", before, after, s);
  EXPECT_LT(std::llabs(after.median_offset_ns - before.median_offset_ns), kBackWithinNs);

  rapidjson::Document vm, mig;
  ASSERT_TRUE(vm_entry(1, vm));
  ASSERT_TRUE(closed_migration(vm["uuid"].GetString(), "", mig)) << logs();
  ASSERT_TRUE(mig["results"].HasMember("target")) << mig["results"].GetType();
  EXPECT_STREQ(mig["results"]["target"]["mode"].GetString(), "continuity");
  EXPECT_EQ(mig["results"]["target"]["offset_ns"].GetInt64(), s["target"]["offset_ns"].GetInt64());
}

// A guest run deliberately off (here: 1.234567 s past its domain's hour,
// as a guest following its own time source would be): continuity keeps it.
TEST_F(DomainClock, ContinuityKeepsADeliberateOffsetAcrossASuspend) {
  reload_both("[vm " + name + "]\nsync_target = continuity\n");
  {
    auto dom = agent_sync::LibvirtDomainHandle::open(uri(1), name);
    ASSERT_TRUE(dom.ok()) << dom.error().message();
    agent_sync::LibvirtGuestAgentChannel agent(*dom);
    const int64_t off = 3600 * kS + 1'234'567'000;
    ASSERT_TRUE(agent.command(R"({"execute":"guest-set-time","arguments":{"time":)" + std::to_string(now_ns() + off) +
                                  "}}",
                              std::chrono::milliseconds(5000)).ok());
  }
  // A sync on request under continuity keeps the offset it finds (and is
  // the "last synced offset" the resume is compared with).
  const int64_t t_req = now_ns();
  ASSERT_EQ(http_request(agents[1]->socket(), "POST", "/api/v1/vms/" + name + "/sync").status, 202);
  rapidjson::Document sr;
  ASSERT_TRUE(wait_sync(1, "on request", t_req, sr)) << logs();
  ASSERT_TRUE(sr["ok"].GetBool()) << sr["message"].GetString() << logs();
  EXPECT_EQ(sr["corrections"].GetInt(), 0) << "nothing to repair: " << sr["target"]["source"].GetString();
  const auto before = measure(1);
  EXPECT_LT(std::llabs(before.median_offset_ns - (3600 * kS + 1'234'567'000)), 50'000'000);
  const int64_t t0 = now_ns();
  suspend_resume(1, 3);
  rapidjson::Document s;
  ASSERT_TRUE(wait_sync(1, "RESUMED_UNPAUSED", t0, s)) << logs();
  ASSERT_TRUE(s["ok"].GetBool()) << s["message"].GetString() << logs();
  EXPECT_STREQ(s["target"]["mode"].GetString(), "continuity");
  // The pause dated by QEMU's own STOP/RESUME timestamps, not by event receipt.
  EXPECT_NE(std::string(s["target"]["source"].GetString()).find("QEMU's STOP -> RESUME timestamps"), std::string::npos)
      << s["target"]["source"].GetString();
  EXPECT_LT(std::llabs(s["target"]["offset_ns"].GetInt64() - before.median_offset_ns), kTargetWithinNs);
  EXPECT_GT(s["target"]["uncertainty_ns"].GetInt64(), 0);
  EXPECT_LT(std::llabs(s["residual_ns"].GetInt64()), kBackWithinNs);
  const auto after = measure(1);
  print("continuity suspend 3 s", before, after, s);
  EXPECT_LT(std::llabs(after.median_offset_ns - before.median_offset_ns), kBackWithinNs);
}

TEST_F(DomainClock, ContinuityKeepsADeliberateOffsetAcrossALiveMigration) {
  const auto before = measure(1);
  const int64_t t0 = now_ns();
  migrate(1, 0);
  rapidjson::Document s;
  ASSERT_TRUE(wait_sync(0, "RESUMED_MIGRATED", t0, s)) << logs();
  ASSERT_TRUE(s["ok"].GetBool()) << s["message"].GetString() << logs();
  EXPECT_STREQ(s["target"]["mode"].GetString(), "continuity");
  // From the source's snapshot, through the controller: "continuity: migration ID from host1 (…".
  const std::string source = s["target"]["source"].GetString();
  const auto at = source.find("migration ");
  ASSERT_NE(at, std::string::npos) << source << logs();
  const std::string id = source.substr(at + 10, source.find(' ', at + 10) - at - 10);
  // Measured on the source during precopy when libvirt announced a further
  // pass, else the pause dated by events: either is a target (printed).
  EXPECT_TRUE(source.find("guest-get-time on the source") != std::string::npos ||
              source.find("stood still") != std::string::npos)
      << source;
  EXPECT_LT(std::llabs(s["target"]["offset_ns"].GetInt64() - before.median_offset_ns), kTargetWithinNs);
  const auto after = measure(0);
  print("continuity live migration", before, after, s);
  EXPECT_LT(std::llabs(after.median_offset_ns - before.median_offset_ns), kBackWithinNs);

  rapidjson::Document vm, mig;
  ASSERT_TRUE(vm_entry(0, vm));
  ASSERT_TRUE(closed_migration(vm["uuid"].GetString(), id, mig)) << logs();
  ASSERT_TRUE(mig["results"].HasMember("target"));
  EXPECT_STREQ(mig["results"]["target"]["mode"].GetString(), "continuity");
  EXPECT_GT(mig["results"]["target"]["uncertainty_ns"].GetInt64(), 0);
  // The verdict is judged against the target, not against host UTC.
  EXPECT_LT(std::llabs(mig["results"]["verification"]["residual_ns"].GetInt64()), kBackWithinNs);
}

// The other <clock> offsets, each on a guest of its own (the clock is fixed
// when QEMU starts), with the default sync_target (domain_clock).

// timezone='Asia/Kolkata': UTC+05:30 all year (no DST to straddle).
TEST_F(DomainClock, ATimezoneClockKeepsItsZoneAcrossASuspendAndALiveMigration) {
  reload_both("");
  recreate_guest("tz", "offset='timezone' timezone='Asia/Kolkata'");
  rapidjson::Document s0;
  sync_on_request(s0);
  EXPECT_STREQ(s0["target"]["mode"].GetString(), "domain_clock");
  EXPECT_EQ(s0["target"]["offset_ns"].GetInt64(), 19800 * kS) << s0["target"]["source"].GetString();
  keeps_offset_across_suspend_and_migration("timezone Asia/Kolkata", 19800 * kS, "domain_clock");
}

// localtime: QEMU starts the RTC at the host's local time; the target is the
// host's UTC offset now (the agent's zone, as libvirt's).
TEST_F(DomainClock, ALocaltimeClockKeepsTheHostsZoneAcrossASuspendAndALiveMigration) {
  recreate_guest("lt", "offset='localtime'");
  rapidjson::Document s0;
  sync_on_request(s0);
  EXPECT_STREQ(s0["target"]["mode"].GetString(), "domain_clock");
  const auto utc_offset = agent_sync::system_utc_offset("", now_ns() / kS);
  ASSERT_TRUE(utc_offset.ok()) << utc_offset.error().message();
  EXPECT_EQ(s0["target"]["offset_ns"].GetInt64(), *utc_offset * kS) << s0["target"]["source"].GetString();
  keeps_offset_across_suspend_and_migration("localtime", *utc_offset * kS, "domain_clock");
}

// absolute: the guest's RTC started at a fixed date (here 2023-11-14); no
// offset follows from the domain, so continuity keeps wherever it runs.
TEST_F(DomainClock, AnAbsoluteClockKeepsItsOwnOffsetAcrossASuspendAndALiveMigration) {
  recreate_guest("ab", "offset='absolute' start='1700000000'");
  rapidjson::Document s0;
  sync_on_request(s0);
  EXPECT_EQ(s0["corrections"].GetInt(), 0) << "nothing to repair: " << s0["target"]["source"].GetString();
  const auto before = measure(0);
  // It booted at its start date, some 3 years behind the host.
  EXPECT_LT(before.median_offset_ns, (1'700'000'100 - now_ns() / kS) * kS);
  keeps_offset_across_suspend_and_migration("absolute", std::nullopt, "continuity");
}

// Every sync above ran through the companion of a guest that also runs
// qemu-ga: each then measured the guest through qemu-ga as well, one sample
// of qemu-ga's asymmetry on this host (agent/qga_bias.hpp), which qemu-ga-
// only syncs remove. Printed; bounded only by what one clock allows here
// (the judge's figures are in docs/benchmarks.md).
TEST_F(DomainClock, TheCompanionSyncsTaughtTheAgentsQemuGasReplyPath) {
  double samples = 0;
  for (int i = 0; i < 2; ++i) {
    const auto n = agents[i]->metric("migclock_agent_qga_bias_samples");
    const auto reply = agents[i]->metric("migclock_agent_qga_reply_path_seconds");
    ASSERT_TRUE(n && reply) << logs();
    std::printf("[clock] host%d: qemu-ga reply path %.1f us from %.0f companion comparisons\n", i, *reply * 1e6, *n);
    samples += *n;
    if (*n >= 3) {
      // Within [0, the largest bound kept (2 ms)] by construction of a kept
      // sample, give or take the companion's own bound.
      EXPECT_GT(*reply, -0.0001);
      EXPECT_LT(*reply, 0.0021);
    }
  }
  EXPECT_GE(samples, 3) << logs();
}

}  // namespace
}  // namespace migclock::agent
