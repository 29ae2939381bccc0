// An owned VMM (migclock-testvmm, real /dev/kvm) migrating between two
// hosts through the real agents and the real controller (docs/agent.md
// "Owned VMMs", docs/protocol.md §3): the source VMM hands its snapshot to
// its agent, which ships it to the controller; the destination VMM asks its
// own agent for the restore inputs, which come from the controller with the
// measured realtime offset between the two hosts. Both "hosts" run on this
// machine (distinct --hostname, state and socket), so the true offset is 0
// and the measured one must be within its own uncertainty of it. The agents
// talk to libvirt's test:///default driver: no libvirt domain is involved.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "agent_process.hpp"

namespace migclock::agent {
namespace {

using namespace migclock::agent::testing;
namespace fs = std::filesystem;

#if defined(MIGCLOCK_CONTROLLER_BIN) && defined(MIGCLOCK_TESTVMM_BIN)

class OwnedVmmTest : public ::testing::Test {
 protected:
  static inline std::string root, token;
  static inline int ctl_port = 0;
  static inline pid_t controller = -1;
  static inline std::unique_ptr<AgentProcess> src, dst;
  static inline std::string skip_reason, setup_failure;

  static std::string sock(const std::string& h) { return root + "/" + h + "/agent.sock"; }

  static std::string controller_get(const std::string& target) { return controller_request(ctl_port, token, target); }

  static std::unique_ptr<AgentProcess> start_agent(const std::string& h) {
    fs::create_directories(root + "/" + h);
    return std::make_unique<AgentProcess>(
        std::vector<std::string>{"--uri", "test:///default", "--socket", sock(h), "--state-dir",
                                 root + "/" + h + "/state", "--hostname", "hv-" + h, "--controller",
                                 "http://127.0.0.1:" + std::to_string(ctl_port), "--token-file", root + "/hv-" + h + ".token"},
        sock(h), root + "/" + h + ".log");
  }

  static void SetUpTestSuite() {
    const int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
      skip_reason = std::string("/dev/kvm cannot be opened (") + strerror(errno) + "): the test VMM needs it";
      return;
    }
    close(kvm);
    root = "/tmp/mcvmm-" + std::to_string(getpid());
    ctl_port = 19100 + getpid() % 500;
    fs::create_directories(root + "/ctl");
    // One token per agent, bound to its host; `token` (hv-src's) also reads.
    for (const std::string h : {"hv-dst", "hv-src"}) {
      token = create_controller_token(MIGCLOCK_CONTROLLER_BIN, root + "/ctl", "agent", h);
      if (token.empty()) { setup_failure = "migclock-controller token create failed"; return; }
      write_text(root + "/" + h + ".token", token + "\n");
    }
    controller = start_plain_controller(MIGCLOCK_CONTROLLER_BIN, ctl_port, root + "/ctl", root + "/controller.log");
    src = start_agent("src");
    dst = start_agent("dst");
    if (!src->started() || !dst->started()) { setup_failure = "agents: " + src->log_text() + dst->log_text(); return; }
    // Both hosts registered and their clock offsets measured (the agents
    // do it at start, then with every heartbeat).
    for (int i = 0; i < 100; ++i) {
      if (controller_get("/api/v1/hosts/offset?from=hv-src&to=hv-dst").find("offset_ns") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    setup_failure = "no hv-src -> hv-dst offset at the controller: " +
                    controller_get("/api/v1/hosts/offset?from=hv-src&to=hv-dst");
  }

  static void TearDownTestSuite() {
    if (!skip_reason.empty()) return;
    for (auto* a : {&src, &dst})
      if (*a) {
        EXPECT_EQ((*a)->stop(), 0) << "SIGTERM must stop the agent cleanly";
        a->reset();
      }
    stop_process(controller);
    fs::remove_all(root);
  }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_TRUE(setup_failure.empty()) << setup_failure;
  }

  static ProcResult testvmm(std::vector<std::string> args) {
    args.insert(args.begin(), MIGCLOCK_TESTVMM_BIN);
    return run_process(args, "", {"PATH=/usr/bin:/bin"});
  }
};

TEST_F(OwnedVmmTest, RestoreInputsComeFromTheControllerWithTheMeasuredHostOffset) {
  const auto cap = testvmm({"capture", "--vcpus", "2", "--agent", sock("src"), "--name", "vmm-x", "--json"});
  ASSERT_EQ(cap.rc, 0) << cap.err;
  rapidjson::Document c;
  c.Parse(cap.out.c_str());
  ASSERT_TRUE(c.IsObject() && c.HasMember("stored")) << cap.out;
  EXPECT_TRUE(fs::exists(c["stored"].GetString()));

  const auto res = testvmm({"restore", "--agent", sock("dst"), "--vm", "vmm-x", "--json"});
  ASSERT_EQ(res.rc, 0) << res.out << res.err << dst->log_text();
  rapidjson::Document r;
  r.Parse(res.out.c_str());
  ASSERT_TRUE(r.IsObject() && r.HasMember("realtime_offset_ns")) << res.out;
  const std::string evidence = r["realtime_offset_evidence"].GetString();
  EXPECT_EQ(evidence.rfind("controller: migration m-", 0), 0u) << evidence;
  EXPECT_NE(evidence.find("hv-src -> hv-dst"), std::string::npos) << evidence;
  // One machine: the true offset is 0; the measurement is within its
  // stated uncertainty of that.
  const int64_t offset = r["realtime_offset_ns"].GetInt64();
  const int64_t uncertainty = r["realtime_offset_uncertainty_ns"].GetInt64();
  EXPECT_GT(uncertainty, 0);
  EXPECT_LE(std::llabs(offset), uncertainty) << res.out;
  EXPECT_FALSE(r["stepped_back"].GetBool());
  EXPECT_FALSE(r["continuity_violated"].GetBool()) << res.out;
  EXPECT_LE(std::llabs(r["kvmclock_error_ns"].GetInt64()), 1'000'000) << res.out;

  // The controller holds the migration the source agent announced, with
  // its snapshot.
  rapidjson::Document m;
  const std::string list = controller_get("/api/v1/migrations?vm=vmm-x");
  m.Parse(list.c_str());
  ASSERT_TRUE(m.IsObject() && m["items"].IsArray() && m["items"].Size() == 1) << list;
  EXPECT_STREQ(m["items"][0]["source"].GetString(), "hv-src");
  EXPECT_STREQ(m["items"][0]["phase"].GetString(), "source-captured");
}

TEST_F(OwnedVmmTest, MigrateThroughTheAgentsIsContinuous) {
  const auto res = testvmm({"migrate", "--vcpus", "2", "--pause-ms", "200", "--agent", sock("src"), "--to-agent",
                            sock("dst"), "--name", "vmm-m", "--json"});
  ASSERT_EQ(res.rc, 0) << res.out << res.err;
  rapidjson::Document r;
  r.Parse(res.out.c_str());
  ASSERT_TRUE(r.IsObject() && r.HasMember("blackout_ns")) << res.out;
  EXPECT_GE(r["blackout_ns"].GetInt64(), 200'000'000);
  EXPECT_LE(std::llabs(r["kvmclock_error_ns"].GetInt64()), 1'000'000) << res.out;
  EXPECT_EQ(std::string(r["realtime_offset_evidence"].GetString()).rfind("controller:", 0), 0u) << res.out;
}

TEST_F(OwnedVmmTest, SameHostRestoreNeedsNoOffset) {
  const auto cap = testvmm({"capture", "--vcpus", "1", "--agent", sock("src"), "--name", "vmm-local", "--json"});
  ASSERT_EQ(cap.rc, 0) << cap.err;
  const auto res = testvmm({"restore", "--agent", sock("src"), "--vm", "vmm-local", "--json"});
  ASSERT_EQ(res.rc, 0) << res.out << res.err;
  rapidjson::Document r;
  r.Parse(res.out.c_str());
  ASSERT_TRUE(r.IsObject() && r.HasMember("realtime_offset_ns")) << res.out;
  EXPECT_EQ(r["realtime_offset_ns"].GetInt64(), 0);
  EXPECT_EQ(r["realtime_offset_uncertainty_ns"].GetInt64(), 0);
  EXPECT_STREQ(r["realtime_offset_evidence"].GetString(), "same host and boot: one CLOCK_REALTIME");
}

TEST_F(OwnedVmmTest, UnknownVmIsAClearErrorAfterTheWait) {
  const auto res = testvmm({"restore", "--agent", sock("dst"), "--vm", "nobody", "--wait-s", "1", "--json"});
  EXPECT_EQ(res.rc, 1);
  EXPECT_NE(res.err.find("no active migration of nobody"), std::string::npos) << res.err;
  const auto bad = testvmm({"restore", "--agent", sock("dst"), "--vm", "x", "--in", "/dev/null"});
  EXPECT_EQ(bad.rc, 2) << bad.err;
  const auto down = testvmm({"restore", "--agent", root + "/nobody.sock", "--vm", "x"});
  EXPECT_EQ(down.rc, 1);
  EXPECT_NE(down.err.find("nobody.sock"), std::string::npos) << down.err;
}

#else
TEST(OwnedVmmTest, NeedsTheControllerAndTheTestVmm) {
  GTEST_SKIP() << "migclock-controller or migclock-testvmm is not built in this tree";
}
#endif

}  // namespace
}  // namespace migclock::agent
