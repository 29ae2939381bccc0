// migclock-hook driven exactly as libvirt drives it: installed into a hooks
// dir, executed as <dir>/qemu NAME OP SUB-OP EXTRA with the domain XML on
// stdin and only libvirt's environment (LC_ALL, PATH, HOME, USER, LOGNAME),
// against a real migclock-agent on its unix socket under that HOME. The
// agent talks to libvirt's test:///default driver: the hook path never
// needs a real domain, and a real daemon cannot fake a foreign source TSC.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cereal/macros.hpp>
#include <cereal/external/rapidxml/rapidxml.hpp>
#include <filesystem>
#include <memory>
#include <regex>

#include "agent_process.hpp"
#include "migclock/agent/domain_xml.hpp"
#include "migclock/agent/paths.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::agent {
namespace {

using namespace migclock::agent::testing;
namespace fs = std::filesystem;

// A listening unix socket nobody accepts on: connects succeed, nothing answers.
int socket_listen_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) return -1;
  return fd;
}

class HookTest : public ::testing::Test {
 protected:
  static inline std::string dir, home, hooks, socket, conf;
  static inline std::unique_ptr<AgentProcess> agent;
  static inline uint32_t host_khz = 0;

  static void SetUpTestSuite() {
    dir = "/tmp/mchook-" + std::to_string(getpid());
    home = dir + "/home";
    hooks = dir + "/hooks";
    socket = home + "/migclock/agent.sock";
    conf = dir + "/agent.conf";
    fs::create_directories(home + "/migclock");
    write_text(conf, "libvirt_uri = test:///default\ntsc_pin_policy = lenient\ntsc_pin_xml = true\n");
    agent = std::make_unique<AgentProcess>(
        std::vector<std::string>{"--config", conf, "--socket", socket, "--state-dir", dir + "/state"}, socket,
        dir + "/agent.log");
    const auto r = run_process({MIGCLOCK_HOOK_BIN, "install", "--hooks-dir", hooks}, "", {"PATH=/usr/bin:/bin"});
    ASSERT_EQ(r.rc, 0) << r.err;
    const auto h = http_request(socket, "GET", "/api/v1/host");
    rapidjson::Document d;
    d.Parse(h.body.c_str());
    if (!d.HasParseError() && d.IsObject() && d.HasMember("tsc_khz")) host_khz = d["tsc_khz"].GetUint();
  }
  static void TearDownTestSuite() {
    if (agent) {
      EXPECT_EQ(agent->stop(), 0) << "SIGTERM must stop the agent cleanly";
    }
    agent.reset();
    fs::remove_all(dir);
  }
  void SetUp() override {
    ASSERT_TRUE(agent && agent->started()) << read_text(dir + "/agent.log");
  }

  // libvirt's virCommandAddEnvPassCommon: LC_ALL=C plus the daemon's own
  // PATH, HOME, USER, LOGNAME — nothing else.
  static ProcResult hook(const std::vector<std::string>& args, const std::string& xml, const std::string& h = home) {
    std::vector<std::string> argv{hooks + "/qemu"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, xml, {"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + h, "USER=root",
                                   "LOGNAME=root"});
  }

  static std::string domain_xml(const std::string& source_khz, bool invtsc = false) {
    std::string meta = source_khz.empty()
                           ? ""
                           : "  <metadata>\n    <migclock:source xmlns:migclock=\"https://migclock.dev/xmlns/agent/1\" "
                             "host=\"hv-src\" tsc_khz=\"" + source_khz + "\"/>\n  </metadata>\n";
    return "<domain type='qemu'>\n  <name>vm1</name>\n  <uuid>6f2a1c7e-1111-4222-8333-944455556666</uuid>\n" + meta +
           "  <memory unit='KiB'>196608</memory>\n" +
           (invtsc ? "  <cpu mode='custom'><model>qemu64</model><feature policy='require' name='invtsc'/></cpu>\n" : "") +
           "  <clock offset='utc'>\n    <timer name='rtc' tickpolicy='catchup'/>\n  </clock>\n"
           "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n  </devices>\n</domain>\n";
  }

  static void set_policy(const std::string& policy, bool pin_xml = true) {
    const size_t from = agent->log_text().size();
    write_text(conf, std::string("libvirt_uri = test:///default\ntsc_pin_xml = ") + (pin_xml ? "true" : "false") +
                         "\ntsc_pin_policy = " + policy + "\n");
    kill(agent->pid(), SIGHUP);
    ASSERT_TRUE(agent->wait_for_log("SIGHUP: configuration reloaded", std::chrono::seconds(10), from));
  }
};

TEST_F(HookTest, AgentIsReadyOnTheTestDriver) {
  EXPECT_EQ(http_request(socket, "GET", "/readyz").status, 200);
  EXPECT_GT(host_khz, 0u) << "the agent could not probe the host TSC: " << http_request(socket, "GET", "/api/v1/host").body;
}

TEST_F(HookTest, EveryOperationIsReportedAndLeavesTheXmlAlone) {
  const double before = agent->metric("migclock_agent_hook_events_total").value_or(-1);
  const std::vector<std::vector<std::string>> calls = {
      {"vm1", "prepare", "begin", "-"}, {"vm1", "start", "begin", "-"},   {"vm1", "started", "begin", "-"},
      {"vm1", "stopped", "end", "-"},   {"vm1", "release", "end", "-"},   {"vm1", "restore", "begin", "-"},
      {"vm1", "reconnect", "begin", "-"}, {"vm1", "attach", "begin", "-"}};
  for (const auto& c : calls) {
    const auto r = hook(c, domain_xml(""));
    EXPECT_EQ(r.rc, 0) << c[1] << " " << r.err;
    EXPECT_EQ(r.out, "") << c[1] << ": a non-filter call must print nothing";
  }
  EXPECT_EQ(agent->metric("migclock_agent_hook_events_total").value_or(-1), before + calls.size());
  EXPECT_NE(agent->log_text().find("vm=vm1 uuid=6f2a1c7e-1111-4222-8333-944455556666: hook release end"),
            std::string::npos);
}

TEST_F(HookTest, MigrateBeginSameFrequencyPrintsNothing) {
  const auto r = hook({"vm1", "migrate", "begin", "-"}, domain_xml(std::to_string(host_khz)));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(HookTest, MigrateBeginPinsASourceWithinToleranceAndChangesOnlyClock) {
  const uint32_t src = host_khz + host_khz / 10000;  // +100 ppm
  const std::string in = domain_xml(std::to_string(src));
  const auto r = hook({"vm1", "migrate", "begin", "-"}, in);
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  // Parses, and outside <clock> every byte is as libvirt sent it.
  std::vector<char> buf(r.out.begin(), r.out.end());
  buf.push_back('\0');
  cereal::rapidxml::xml_document<> doc;
  EXPECT_NO_THROW(doc.parse<0>(buf.data()));
  const auto cut = [](const std::string& s) {
    const auto b = s.find("<clock"), e = s.find("</clock>") + 8;
    return s.substr(0, b) + s.substr(e);
  };
  EXPECT_EQ(cut(r.out), cut(in));
  EXPECT_EQ(tsc_timer_frequency_hz(r.out), std::optional<uint64_t>(uint64_t{src} * 1000));
  EXPECT_NE(clock_element(r.out)->find("<timer name='rtc' tickpolicy='catchup'/>"), std::string::npos);
}

TEST_F(HookTest, MigrateBeginInvtscGuestIsPinnedEvenAtTheSameFrequency) {
  const auto r = hook({"vm1", "migrate", "begin", "-"}, domain_xml(std::to_string(host_khz), true));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(tsc_timer_frequency_hz(r.out), std::optional<uint64_t>(uint64_t{host_khz} * 1000));
}

TEST_F(HookTest, LenientLeavesXmlUnchangedAndWarnsWhenItCannotHonour) {
  const double warnings = agent->metric("migclock_agent_tsc_pin_warnings_total").value_or(-1);
  const auto r = hook({"vm1", "migrate", "begin", "-"}, domain_xml(std::to_string(host_khz / 2)));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(agent->metric("migclock_agent_tsc_pin_warnings_total").value_or(-1), warnings + 1);
}

TEST_F(HookTest, StrictRefusesNamingBothFrequencies) {
  set_policy("strict");
  const uint32_t src = host_khz / 2;
  const auto r = hook({"vm1", "migrate", "begin", "-"}, domain_xml(std::to_string(src)));
  set_policy("lenient");
  EXPECT_NE(r.rc, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(std::to_string(src) + " kHz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::to_string(host_khz) + " kHz"), std::string::npos) << r.err;
  EXPECT_GE(agent->metric("migclock_agent_tsc_pin_refusals_total").value_or(0), 1);
}

TEST_F(HookTest, DefaultNeverEmitsAPinLibvirtWouldReject) {
  set_policy("lenient", false);
  const double warnings = agent->metric("migclock_agent_tsc_pin_warnings_total").value_or(-1);
  const auto r = hook({"vm1", "migrate", "begin", "-"}, domain_xml(std::to_string(host_khz), true));
  set_policy("lenient");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(agent->metric("migclock_agent_tsc_pin_warnings_total").value_or(-1), warnings + 1);
}

TEST_F(HookTest, AgentDownLenientExitsZeroWithXmlUnchanged) {
  if (fs::exists(kSystemSocket)) GTEST_SKIP() << "a system agent is listening on " << kSystemSocket;
  const std::string empty_home = dir + "/nobody-home";
  fs::create_directories(empty_home);
  for (const auto& op : std::vector<std::vector<std::string>>{{"vm1", "migrate", "begin", "-"}, {"vm1", "started", "begin", "-"}}) {
    const auto r = hook(op, domain_xml("1000000"), empty_home);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(HookTest, AgentDownStrictRefusesMigrateBeginOnly) {
  if (fs::exists(kSystemSocket)) GTEST_SKIP() << "a system agent is listening on " << kSystemSocket;
  const std::string strict_home = dir + "/strict-home";
  fs::create_directories(strict_home + "/migclock");
  write_text(strict_home + "/migclock/hook.conf", "policy = strict\n");
  const auto r = hook({"vm1", "migrate", "begin", "-"}, domain_xml("1000000"), strict_home);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no answer from the migclock agent"), std::string::npos) << r.err;
  EXPECT_EQ(hook({"vm1", "started", "begin", "-"}, domain_xml(""), strict_home).rc, 0);
}

TEST_F(HookTest, WrongArgumentsAreAClearErrorButFailOpen) {
  // A hook must never be what aborts a migration (issue 12): exit 0.
  const auto r = hook({"vm1", "started"}, "");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.err.find("expected libvirt's arguments"), std::string::npos) << r.err;
}

TEST_F(HookTest, PeersNotRootNorInTheGroupAreRefused) {
  // Running the hook as nobody (uid 65534) needs setuid, which only root has.
  if (geteuid() != 0) GTEST_SKIP() << "needs root (euid " << geteuid() << "): runs the hook as uid 65534";
  // Open the file mode so only SO_PEERCRED stands between nobody and the API.
  ASSERT_EQ(chmod(socket.c_str(), 0666), 0);
  ASSERT_EQ(chmod(home.c_str(), 0755), 0);
  ASSERT_EQ(chmod((home + "/migclock").c_str(), 0755), 0);
  const double refused = agent->metric("migclock_agent_refused_peers_total").value_or(-1);
  const auto r = run_process({MIGCLOCK_HOOK_BIN, "vm1", "migrate", "begin", "-"}, domain_xml("1000"),
                             {"PATH=/usr/bin:/bin", "HOME=" + home, "MIGCLOCK_HOOK_POLICY=strict"}, 65534, 65534);
  chmod(socket.c_str(), 0660);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("HTTP 403"), std::string::npos) << r.err;
  EXPECT_EQ(agent->metric("migclock_agent_refused_peers_total").value_or(-1), refused + 1);
}

TEST_F(HookTest, ApiRejectsBadInputWithStatusCodes) {
  EXPECT_EQ(http_request(socket, "POST", "/api/v1/hook/events", "{not json").status, 400);
  EXPECT_EQ(http_request(socket, "POST", "/api/v1/hook/migrate-begin", "{}").status, 400);
  EXPECT_EQ(http_request(socket, "POST", "/api/v1/vms/nope/capture").status, 404);
  EXPECT_EQ(http_request(socket, "GET", "/api/v1/nothing").status, 404);
  EXPECT_EQ(http_request(socket, "POST", "/api/v1/vmm/snapshots", "[]").status, 400);
}

TEST_F(HookTest, OwnedVmmPostsItsSnapshotAndGetsRestoreInputs) {
  snapshot::Snapshot s;
  s.vm.name = "testvmm-1";
  s.host.hostname = "vm";
  s.host.boot_id = read_text("/proc/sys/kernel/random/boot_id");
  s.host.boot_id.pop_back();
  s.host.tsc_khz = 2'600'000;
  s.captured.realtime_ns = 1'700'000'000'000'000'000;
  s.captured.monotonic_raw_ns = 5'000'000'000;
  s.software_version = "test";
  s.clock.clock_ns = 123'456'789;
  s.clock.flags = snapshot::kClockTscStable;
  snapshot::VcpuClock v;
  v.tsc_khz = 2'600'000;
  v.tsc_offset = 42;
  v.tsc_offset_valid = true;
  s.vcpus.push_back(v);
  auto json = serialization::encode(s, serialization::Format::json);
  ASSERT_TRUE(json.ok());
  const auto posted = http_request(socket, "POST", "/api/v1/vmm/snapshots", *json);
  ASSERT_EQ(posted.status, 201) << posted.body;
  const auto got = http_request(socket, "GET", "/api/v1/vmm/restore-inputs?vm=testvmm-1");
  ASSERT_EQ(got.status, 200) << got.body;
  rapidjson::Document d;
  d.Parse(got.body.c_str());
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(d["realtime_offset_ns"].GetInt64(), 0);
  EXPECT_EQ(d["uncertainty_ns"].GetInt64(), 0);
  EXPECT_NE(std::string(d["evidence"].GetString()).find("same host"), std::string::npos);
  EXPECT_EQ(d["snapshot"]["vcpus"][0]["tsc_offset"].GetUint64(), 42u);
  EXPECT_EQ(d["snapshot"]["clock"]["clock_ns"].GetUint64(), 123'456'789u);
  EXPECT_EQ(http_request(socket, "GET", "/api/v1/vmm/restore-inputs?vm=nobody").status, 404);
  EXPECT_EQ(http_request(socket, "GET", "/api/v1/vmm/restore-inputs?vm=..").status, 400);
}

// --- issue 12: hostile input to the agent's local API and to the hook ---

TEST_F(HookTest, HostileDeepNestingIs400AndTheAgentLives) {
  // 200,000 '[' once overflowed the agent's stack (a segfault): one local
  // peer took the host's agent down.
  const std::string deep(200'000, '[');
  EXPECT_EQ(http_request(socket, "POST", "/api/v1/hook/events", deep).status, 400);
  const auto mb = http_request(socket, "POST", "/api/v1/hook/migrate-begin",
                               "{\"xml\":" + std::string(1'000'000, '[') + "}");
  EXPECT_EQ(mb.status, 400) << mb.error;
  EXPECT_NE(mb.body.find("nested deeper"), std::string::npos) << mb.body.substr(0, 200);
  EXPECT_EQ(http_request(socket, "GET", "/healthz").status, 200);
}

TEST_F(HookTest, HostileInvalidUtf8AndWrongTypesAre400NamingTheField) {
  auto r = http_request(socket, "POST", "/api/v1/hook/events",
                        std::string(R"({"op":"started","name":"vm)") + "\xC0\xAF" + R"("})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"field\":\"name\""), std::string::npos) << r.body;
  r = http_request(socket, "POST", "/api/v1/hook/events", R"({"op":["started"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"field\":\"op\""), std::string::npos) << r.body;
  r = http_request(socket, "POST", "/api/v1/hook/events", R"({"op":"a","op":"b"})");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(HookTest, HostileEventNamesCannotForgeOrFloodLogLines) {
  const auto r = hook({"evil\n2026-01-01T00:00:00.000000 error FORGED", "started", "begin", "-"}, "<domain/>");
  EXPECT_EQ(r.rc, 0) << r.err;
  const auto big = hook({std::string(100'000, 'n'), "started", "begin", "-"}, "<domain/>");
  EXPECT_EQ(big.rc, 0) << big.err;
  EXPECT_EQ(http_request(socket, "GET", "/healthz").status, 200);
  const std::string log = read_text(dir + "/agent.log");
  EXPECT_EQ(log.find("\n2026-01-01T00:00:00.000000 error FORGED"), std::string::npos) << "a forged line";
  EXPECT_NE(log.find("evil\\n2026"), std::string::npos) << "escaped, still there";
  EXPECT_EQ(log.find(std::string(1000, 'n')), std::string::npos) << "a 100 kB name reached the log";
}

TEST_F(HookTest, HostileTimeoutMsIsRangeCheckedAndTheHookFailsOpen) {
  const std::string h = dir + "/timeout-home";
  fs::create_directories(h + "/migclock");
  for (const char* bad : {"99999999999", "2000000000", "0"}) {
    write_text(h + "/migclock/hook.conf", "socket = " + socket + "\ntimeout_ms = " + bad + "\n");
    auto r = hook({"vm1", "started", "begin", "-"}, domain_xml(""), h);
    EXPECT_EQ(r.rc, 0) << bad << ": " << r.err;  // not 134 (std::out_of_range)
    EXPECT_NE(r.err.find("timeout_ms must be 1..10000"), std::string::npos) << r.err;
    r = hook({"vm1", "migrate", "begin", "-"}, domain_xml(""), h);
    EXPECT_EQ(r.rc, 0) << bad << ": " << r.err;
  }
}

TEST_F(HookTest, HostileABadLineInOneConfigFileDoesNotDropTheOthersStrictPolicy) {
  if (fs::exists(kSystemSocket)) GTEST_SKIP() << "a system agent is listening on " << kSystemSocket;
  const std::string h = dir + "/badline-home";
  fs::create_directories(h + "/migclock");
  write_text(dir + "/first.conf", "this is no setting\nsocket = " + dir + "/nobody.sock\n");
  write_text(h + "/migclock/hook.conf", "policy = strict\n");
  const auto r = run_process({hooks + "/qemu", "vm1", "migrate", "begin", "-"}, domain_xml("1000000"),
                             {"PATH=/usr/bin:/bin", "HOME=" + h, "MIGCLOCK_HOOK_CONFIG=" + dir + "/first.conf"});
  EXPECT_EQ(r.rc, 1) << "strict from the second file must hold: " << r.err;
  EXPECT_NE(r.err.find("bad setting 'this is no setting'"), std::string::npos) << r.err;
}

// stdin bounded in size and time; migrate begin bounded against a hanging agent.
TEST_F(HookTest, HostileStdinAndAHangingAgentAreBoundedInTime) {
  // An agent that accepts and never answers.
  const std::string hang = dir + "/hang.sock";
  const int l = socket_listen_unix(hang);
  ASSERT_GE(l, 0);
  const std::vector<std::string> env{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "MIGCLOCK_AGENT_SOCKET=" + hang};
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_process({hooks + "/qemu", "vm1", "migrate", "begin", "-"}, domain_xml("1000000"), env);
  EXPECT_EQ(r.rc, 0) << r.err;
  // The hook's own cap is 2.5 s; the margin is for process start-up on a
  // loaded CI machine (the point: it does not wait for the agent forever).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(4500)) << "migrate begin held libvirt";
  // 100 MB on stdin: refused quickly, without buffering it all.
  t0 = std::chrono::steady_clock::now();
  r = run_process({"/bin/sh", "-c", "head -c 100000000 /dev/zero | " + hooks + "/qemu vm1 started begin -"}, "", env);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("stdin over"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(5000));
  // A writer that never closes stdin: the hook goes on after its deadline
  // (timed inside the pipeline, which itself lasts as long as the writer).
  r = run_process({"/bin/sh", "-c",
                   "(echo '<domain/>'; sleep 4) 2>/dev/null | { s=$(date +%s%N); " + hooks +
                       "/qemu vm1 started begin -; rc=$?; echo \"elapsed_ms=$(( ($(date +%s%N) - s) / 1000000 ))\" >&2; "
                       "exit $rc; }"},
                  "", env);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("stdin still open"), std::string::npos) << r.err;
  const auto at = r.err.find("elapsed_ms=");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_LT(std::stol(r.err.substr(at + 11)), 3000) << r.err;
  close(l);
}

TEST(HookInstall, NeverClobbersAnotherHook) {
  const std::string d = "/tmp/mchookinst-" + std::to_string(getpid());
  fs::create_directories(d);
  write_text(d + "/qemu", "#!/bin/sh\necho theirs\n");
  chmod((d + "/qemu").c_str(), 0755);
  auto r = run_process({MIGCLOCK_HOOK_BIN, "install", "--hooks-dir", d, "--json"}, "", {"PATH=/usr/bin:/bin"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find(d + "/qemu.d/50-migclock"), std::string::npos) << r.out;
  EXPECT_EQ(read_text(d + "/qemu"), "#!/bin/sh\necho theirs\n");
  EXPECT_EQ(access((d + "/qemu.d/50-migclock").c_str(), X_OK), 0);
  // Installed as a drop-in, the driver comes from the qemu.d directory.
  r = run_process({d + "/qemu.d/50-migclock", "vm9", "started", "begin", "-"}, "<domain/>",
                  {"PATH=/usr/bin:/bin", "HOME=/nonexistent"});
  EXPECT_EQ(r.rc, 0) << r.err;
  r = run_process({MIGCLOCK_HOOK_BIN, "uninstall", "--hooks-dir", d}, "", {"PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(fs::exists(d + "/qemu.d/50-migclock"));
  EXPECT_EQ(read_text(d + "/qemu"), "#!/bin/sh\necho theirs\n");
  fs::remove_all(d);
}

TEST(HookInstall, FreeSlotGetsTheMainHookAndReinstallUpdatesIt) {
  const std::string d = "/tmp/mchookinst2-" + std::to_string(getpid());
  auto r = run_process({MIGCLOCK_HOOK_BIN, "install", "--hooks-dir", d}, "", {"PATH=/usr/bin:/bin"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(access((d + "/qemu").c_str(), X_OK), 0);
  r = run_process({MIGCLOCK_HOOK_BIN, "install", "--hooks-dir", d}, "", {"PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("updated our hook in place"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d + "/qemu.d"));
  fs::remove_all(d);
}

TEST(HookBinary, DoesNotLinkLibvirt) {
  // The hook must never call libvirt (libvirt waits on it holding locks);
  // not linking it makes that structural.
  const auto r = run_process({"/usr/bin/ldd", MIGCLOCK_HOOK_BIN}, "", {"PATH=/usr/bin:/bin"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("libvirt"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace migclock::agent
