// Config file, flags and per-VM policy resolution; errors name file:line.
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "migclock/agent/cli.hpp"
#include "migclock/agent/config.hpp"
#include "migclock/agent/local_api.hpp"
#include "migclock/agent/metrics.hpp"
#include "migclock/agent/paths.hpp"

namespace migclock::agent {
namespace {

TEST(Config, DefaultsAreTheDocumentedOnes) {
  const AgentConfig c;
  EXPECT_EQ(c.libvirt_uri, "qemu:///system");
  EXPECT_EQ(c.sync_policy, SyncPolicy::step);
  EXPECT_EQ(c.tsc_pin_policy, TscPinPolicy::lenient);
  EXPECT_EQ(c.sync_agent_wait_s, 60);
}

TEST(Config, ParsesGlobalAndPerVmSettings) {
  const auto c = parse_config(R"(
# comment
libvirt_uri = qemu+unix:///session?socket=/x/sock
sync_policy = measure
tsc_pin_policy = strict
socket_group = kvm
[vm web1]
sync_policy = off
[vm 0b5f9a3e-0000-4000-8000-000000000001]
sync_policy = step   # uuid wins over name
rtc_catchup = true
)", "agent.conf");
  EXPECT_EQ(c.libvirt_uri, "qemu+unix:///session?socket=/x/sock");
  EXPECT_EQ(c.tsc_pin_policy, TscPinPolicy::strict);
  EXPECT_EQ(c.sync_policy_for("other-uuid", "db1"), SyncPolicy::measure);
  EXPECT_EQ(c.sync_policy_for("other-uuid", "web1"), SyncPolicy::off);
  EXPECT_EQ(c.sync_policy_for("0b5f9a3e-0000-4000-8000-000000000001", "web1"), SyncPolicy::step);
  EXPECT_EQ(c.rtc_catchup_for("0b5f9a3e-0000-4000-8000-000000000001", "x"), std::optional<bool>(true));
  EXPECT_EQ(c.rtc_catchup_for("u", "web1"), std::nullopt);  // auto: decided by the domain's <clock>
  EXPECT_EQ(parse_config("rtc_catchup = false\n", "f").rtc_catchup_for("u", "web1"), std::optional<bool>(false));
  EXPECT_EQ(parse_config("rtc_catchup = auto\n", "f").rtc_catchup_for("u", "web1"), std::nullopt);
  // qemu-ga's learned asymmetry: off by default, on globally or for one VM.
  EXPECT_FALSE(c.qga_bias_for("u", "web1"));
  const auto q = parse_config("qga_bias_from_companion = no\n[vm raw]\nqga_bias_from_companion = yes\n", "f");
  EXPECT_FALSE(q.qga_bias_for("u", "web1"));
  EXPECT_TRUE(q.qga_bias_for("u", "raw"));
  EXPECT_THROW(parse_config("qga_bias_from_companion = sometimes\n", "f"), ConfigError);
}

TEST(Config, SyncTargetIsGlobalAndPerVm) {
  EXPECT_EQ(AgentConfig{}.sync_target, SyncTarget::domain_clock);
  const auto c = parse_config(R"(
sync_target = continuity
continuity_wait_ms = 1500
[vm clock1]
sync_target = domain_clock
[vm 0b5f9a3e-0000-4000-8000-000000000002]
sync_target = continuity
)", "agent.conf");
  EXPECT_EQ(c.continuity_wait_ms, 1500);
  EXPECT_EQ(c.sync_target_for("u", "other"), SyncTarget::continuity);
  EXPECT_EQ(c.sync_target_for("u", "clock1"), SyncTarget::domain_clock);
  EXPECT_EQ(c.sync_target_for("0b5f9a3e-0000-4000-8000-000000000002", "clock1"), SyncTarget::continuity);
}

void expect_error(const std::string& text, const std::string& needle) {
  try {
    parse_config(text, "f.conf");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Config, BadInputNamesFileLineAndKey) {
  expect_error("sync_policy = sometimes", "f.conf:1: sync_policy");
  expect_error("sync_target = utc", "f.conf:1: sync_target: sync_target must be domain_clock or continuity, not 'utc'");
  expect_error("[vm a]\nsync_target = host", "f.conf:2: sync_target");
  expect_error("\nbogus = 1", "f.conf:2: unknown setting 'bogus'");
  expect_error("sync_agent_wait_s = 12x", "not an integer");
  expect_error("sync_agent_wait_s = 99999", "out of range");
  expect_error("[host x]", "sections are [vm NAME-OR-UUID]");
  expect_error("[vm a]\nlibvirt_uri = x", "not allowed in a [vm] section");
  expect_error("novalue", "expected key = value");
  expect_error("rtc_catchup = maybe", "not a boolean");
}

TEST(Config, FlagsOverrideTheFileAndUnknownFlagsFail) {
  char path[] = "/tmp/mcagent-conf-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "sync_policy = measure\nlibvirt_uri = test:///default\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  const auto cli = parse_cli({"--config", path, "--sync-policy=off", "--tsc-pin-policy", "strict"});
  const auto c = effective_config(cli.flags);
  EXPECT_EQ(c.sync_policy, SyncPolicy::off);
  EXPECT_EQ(c.tsc_pin_policy, TscPinPolicy::strict);
  EXPECT_EQ(c.libvirt_uri, "test:///default");
  unlink(path);
  EXPECT_THROW(parse_cli({"--frobnicate"}), ConfigError);
  EXPECT_THROW(parse_cli({"--uri"}), ConfigError);
  EXPECT_THROW(effective_config(parse_cli({"--config", "/nonexistent/agent.conf"}).flags), ConfigError);
}

TEST(Config, CheckConfigReportsUnreadableFilesAndAMissingToken) {
  AgentConfig c;
  EXPECT_TRUE(config_problems(c).empty()) << "the defaults are a valid configuration";
  c.controller_url = "https://ctl.example:8443";
  auto p = config_problems(c);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("controller_token_file is not"), std::string::npos) << p[0];
  c.controller_token_file = "/nonexistent/agent.token";
  c.controller_ca_file = "/proc/self/status";  // readable
  p = config_problems(c);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "controller_token_file = /nonexistent/agent.token: No such file or directory");
  c.controller_url = "ctl.example:8443";
  p = config_problems(c);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NE(p[0].find("not an https://"), std::string::npos) << p[0];
}

TEST(Paths, SessionDaemonsAreToldApartByHome) {
  EXPECT_EQ(socket_path_for(PathEnv{0, "", "/root", ""}), "/run/migclock/agent.sock");
  EXPECT_EQ(socket_path_for(PathEnv{1000, "/run/user/1000", "/srv/d1", ""}), "/srv/d1/migclock/agent.sock");
  EXPECT_EQ(socket_path_for(PathEnv{1000, "", "", ""}), "/tmp/migclock-1000/agent.sock");
  // No per-daemon socket present: the system one.
  EXPECT_EQ(hook_socket_for_home("/nonexistent-home"), kSystemSocket);
}

TEST(PeerCred, RootAndSelfAlwaysAndGroupMembersOnly) {
  EXPECT_TRUE(peer_allowed(PeerCred{1, 0, 0}, "", 1234));
  EXPECT_TRUE(peer_allowed(PeerCred{1, 1234, 1234}, "", 1234));
  EXPECT_FALSE(peer_allowed(PeerCred{1, 65534, 65534}, "", 0));
  EXPECT_FALSE(peer_allowed(PeerCred{1, 65534, 65534}, "no-such-group-migclock", 0));
  // root's primary group is in group "root": a peer with gid 0 passes a
  // "root" group check even with a non-root uid.
  EXPECT_TRUE(peer_allowed(PeerCred{1, 65534, 0}, "root", 0));
}

// Issue 12 (socket group): membership is the connecting process's, from
// /proc/PID/status, not its user's entry in /etc/group.
TEST(PeerCred, HostileGroupMembershipIsTheProcessesNotTheGroupFiles) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a child other groups";
  struct group* g = ::getgrnam("kvm");
  if (!g) GTEST_SKIP() << "no group kvm here";
  const gid_t kvm = g->gr_gid;
  // nobody is not in kvm per /etc/group; give a nobody process kvm anyway,
  // and another one nothing.
  auto child = [](std::vector<gid_t> groups) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(1);
      ::pause();
      _exit(0);
    }
    return pid;
  };
  const pid_t with = child({kvm}), without = child({});
  ASSERT_GT(with, 0);
  ASSERT_GT(without, 0);
  // Wait until both dropped root (their status shows uid 65534).
  for (int i = 0; i < 200; ++i) {
    std::ifstream a("/proc/" + std::to_string(with) + "/status"), b("/proc/" + std::to_string(without) + "/status");
    std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
    if (sa.find("Uid:\t65534") != std::string::npos && sb.find("Uid:\t65534") != std::string::npos) break;
    ::usleep(10'000);
  }
  EXPECT_TRUE(peer_allowed(PeerCred{with, 65534, 65534}, "kvm", 0));
  EXPECT_FALSE(peer_allowed(PeerCred{without, 65534, 65534}, "kvm", 0));
  EXPECT_FALSE(peer_allowed(PeerCred{999999, 65534, 65534}, "kvm", 0)) << "a process that is gone";
  ::kill(with, SIGKILL);
  ::kill(without, SIGKILL);
  ::waitpid(with, nullptr, 0);
  ::waitpid(without, nullptr, 0);
}

TEST(Metrics, PrometheusTextHasCountersAndCumulativeBuckets) {
  Metrics m;
  m.syncs = 3;
  m.sync_failures = 1;
  m.residual_offset.observe(0.00004);
  m.residual_offset.observe(0.002);
  const std::string t = m.render();
  EXPECT_NE(t.find("# TYPE migclock_agent_syncs_total counter\nmigclock_agent_syncs_total 3\n"), std::string::npos);
  EXPECT_NE(t.find("migclock_agent_sync_failures_total 1\n"), std::string::npos);
  EXPECT_NE(t.find("migclock_agent_residual_offset_seconds_bucket{le=\"5e-05\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("migclock_agent_residual_offset_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("migclock_agent_residual_offset_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("migclock_agent_residual_offset_seconds_count 2\n"), std::string::npos);
}

}  // namespace
}  // namespace migclock::agent

// The sync verdict (sync_verdict.hpp): what the final measurement can show.
#include "migclock/agent/sync_verdict.hpp"

namespace migclock::agent {
namespace {

SyncOutcome measured(int64_t residual_ns, int64_t bound_ns) {
  SyncOutcome o;
  o.ok = true;
  o.offset_after_ns = residual_ns;
  o.asymmetry_bound_ns = bound_ns;
  o.statistical_ns = 3'000;
  return o;
}

TEST(SyncVerdict, VerifiedOnlyWithinTheThresholdAndWithAnUncertaintyWithinTheLimit) {
  const VerdictLimits limits{50'000, 100'000};
  auto o = measured(-40'000, 60'000);
  judge_sync(o, limits);
  EXPECT_EQ(o.verdict, SyncVerdict::verified);
  EXPECT_EQ(o.residual_threshold_ns, 50'000);
  EXPECT_EQ(o.uncertainty_limit_ns, 100'000);
  EXPECT_NE(o.verdict_reason.find("-40.0 us +- 60.0 us"), std::string::npos) << o.verdict_reason;
}

TEST(SyncVerdict, AResidualAboveTheThresholdIsDegradedWithTheNumbers) {
  auto o = measured(950'000, 60'000);  // the -0.95 ms class of the issue, positive
  judge_sync(o, {50'000, 100'000});
  EXPECT_EQ(o.verdict, SyncVerdict::degraded);
  EXPECT_NE(o.verdict_reason.find("950.0 us"), std::string::npos) << o.verdict_reason;
  EXPECT_NE(o.verdict_reason.find("above the threshold 50.0 us"), std::string::npos) << o.verdict_reason;
}

TEST(SyncVerdict, ASmallResidualThatTheMeasurementCannotShowIsDegraded) {
  // qemu-ga: min RTT ~1.3 ms, so the true offset is only known to +-650 us.
  auto o = measured(12'000, 650'000);
  judge_sync(o, {50'000, 100'000});
  EXPECT_EQ(o.verdict, SyncVerdict::degraded);
  EXPECT_NE(o.verdict_reason.find("uncertainty above the limit 100.0 us"), std::string::npos) << o.verdict_reason;
  EXPECT_EQ(o.verdict_reason.find("above the threshold"), std::string::npos) << o.verdict_reason;
  // Exactly at both limits is within them.
  o = measured(-50'000, 100'000);
  judge_sync(o, {50'000, 100'000});
  EXPECT_EQ(o.verdict, SyncVerdict::verified);
}

// The residual is judged against the sync's target: a guest an hour ahead
// by design and at its hour is within the threshold; the target's own
// uncertainty adds to the measurement's.
TEST(SyncVerdict, JudgedRelativeToTheTargetWithItsUncertainty) {
  auto o = measured(3'600'000'000'000 + 20'000, 60'000);
  o.target_offset_ns = 3'600'000'000'000;
  judge_sync(o, {50'000, 100'000});
  EXPECT_EQ(o.verdict, SyncVerdict::verified) << o.verdict_reason;
  EXPECT_NE(o.verdict_reason.find("residual 20.0 us +- 60.0 us"), std::string::npos) << o.verdict_reason;
  o.target_uncertainty_ns = 50'000;  // a continuity target measured to +-50 us
  judge_sync(o, {50'000, 100'000});
  EXPECT_EQ(o.verdict, SyncVerdict::degraded);
  EXPECT_NE(o.verdict_reason.find("+- 110.0 us (asymmetry bound + target 50.0 us"), std::string::npos) << o.verdict_reason;
}

TEST(SyncVerdict, FailedCancelledOrUnmeasuredSyncs) {
  SyncOutcome failed;
  judge_sync(failed, {});
  EXPECT_EQ(failed.verdict, SyncVerdict::none);
  auto cancelled = measured(0, 0);
  cancelled.cancelled = true;
  judge_sync(cancelled, {});
  EXPECT_EQ(cancelled.verdict, SyncVerdict::none);
  SyncOutcome unmeasured;
  unmeasured.ok = true;
  judge_sync(unmeasured, {});
  EXPECT_EQ(unmeasured.verdict, SyncVerdict::degraded);
  EXPECT_EQ(unmeasured.verdict_reason, "no final measurement");
}

}  // namespace
}  // namespace migclock::agent
