// The real guest program (migclock-guest-companion, built for this host)
// on a raw-mode pty standing in for the virtio-serial port, driven by the
// agent's real client (CompanionChannel). --dry-run: steps are parsed,
// bounded and answered but never applied, since guest and host share this
// machine's clock here. Guest and host read the same clock, so the truth of
// the offset is known: 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>

#include "migclock/agent_sync/companion_sync.hpp"

namespace migclock::agent_sync {
namespace {

class CompanionProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_GE(master_, 0);
    ASSERT_EQ(grantpt(master_), 0);
    ASSERT_EQ(unlockpt(master_), 0);
    const std::string slave = ptsname(master_);
    termios t{};
    ASSERT_EQ(tcgetattr(master_, &t), 0);
    cfmakeraw(&t);
    ASSERT_EQ(tcsetattr(master_, TCSANOW, &t), 0);
    slave_keep_ = open(slave.c_str(), O_RDWR | O_NOCTTY);
    ASSERT_GE(slave_keep_, 0);
    ASSERT_EQ(tcgetattr(slave_keep_, &t), 0);
    cfmakeraw(&t);
    ASSERT_EQ(tcsetattr(slave_keep_, TCSANOW, &t), 0);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      execl(MIGCLOCK_GUEST_COMPANION_BIN, MIGCLOCK_GUEST_COMPANION_BIN, "--port", slave.c_str(), "--dry-run",
            "--no-nudge", nullptr);
      _exit(127);
    }
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (slave_keep_ >= 0) close(slave_keep_);
  }
  bool alive() { return waitpid(pid_, nullptr, WNOHANG) == 0; }
  // The program opens the port by path, which may take a moment.
  Result<guest::Reply> first_info(CompanionChannel& ch) {
    Result<guest::Reply> r = make_error(errc::timeout, "never asked");
    for (int i = 0; i < 50; ++i) {
      r = ch.info(std::chrono::milliseconds(100));
      if (r) return r;
    }
    return r;
  }
  void write_raw(const std::string& bytes) {
    ASSERT_EQ(write(master_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  int master_ = -1, slave_keep_ = -1;
  pid_t pid_ = -1;
};

TEST_F(CompanionProgram, AnswersTimeWhichTheEstimateCovers) {
  auto ch = CompanionChannel::adopt(master_);
  master_ = -1;
  auto info = first_info(ch);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(guest::info_value(info->text, "v"), "1");
  EXPECT_TRUE(guest::info_value(info->text, "cs")) << info->text;
  SystemTimeSource time;
  auto e = measure_companion(ch, time, {32, 4, std::chrono::milliseconds(500), 32, 0, std::chrono::milliseconds(2000)});
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e->samples_taken, 32u);
  EXPECT_LE(std::llabs(e->median_offset_ns), e->asymmetry_bound_ns + e->statistical_ns)
      << "same clock: the truth is 0";
  EXPECT_LT(e->asymmetry_bound_ns, 5'000'000);
}

TEST_F(CompanionProgram, SurvivesGarbageAndStillAnswers) {
  auto ch = CompanionChannel::adopt(dup(master_));
  ASSERT_TRUE(first_info(ch));
  std::mt19937_64 rng(61);
  std::string junk;
  for (int i = 0; i < 64 * 1024; ++i) junk += static_cast<char>(rng());
  write_raw(junk);
  write_raw(std::string(10000, 'M') + "MCC1 S 1 5\n");  // a valid step behind an overlong line
  write_raw("MCC1 S 2 5 big please\nMCC1 S -3 5\nMCC1 T 4 \nMCC1\0 T 5\n");
  write_raw(std::string("\n", 1));
  SystemTimeSource time;
  auto s = ch.time(time, std::chrono::milliseconds(2000));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_LE(s->t1_ns, s->guest_ns);
  EXPECT_LE(s->guest_ns, s->t4_ns);
  auto info = ch.info(std::chrono::milliseconds(2000));
  ASSERT_TRUE(info);
  auto bad = guest::info_value(info->text, "bad");
  ASSERT_TRUE(bad);
  EXPECT_GE(std::atoll(bad->c_str()), 5) << info->text;
  EXPECT_EQ(guest::info_value(info->text, "steps"), "0") << "no garbage ever became a step";
  EXPECT_TRUE(alive());
}

TEST_F(CompanionProgram, BoundsStepsAndSaysWhy) {
  auto ch = CompanionChannel::adopt(dup(master_));
  ASSERT_TRUE(first_info(ch));
  auto small = ch.step(-20'000, false, std::chrono::milliseconds(2000));
  ASSERT_TRUE(small);
  EXPECT_FALSE(small->ok);
  EXPECT_EQ(small->text, "dry-run") << "parsed and accepted, not applied (--dry-run)";
  auto huge = ch.step(5'000'000'000, false, std::chrono::milliseconds(2000));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->text, "too-big");
  auto allowed = ch.step(5'000'000'000, true, std::chrono::milliseconds(2000));
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->text, "dry-run");
}

TEST_F(CompanionProgram, ASyncAgainstADryRunGuestFailsCleanly) {
  // Guest and host share a clock, so the offset is within the threshold:
  // no step is needed, and the sync reports the measurement as its result.
  auto ch = CompanionChannel::adopt(dup(master_));
  ASSERT_TRUE(first_info(ch));
  SystemTimeSource time;
  SyncOptions o;
  o.residual_threshold_ns = 10'000'000;
  auto r = sync_via_companion(ch, nullptr, time, o, {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->steps.empty());
  ASSERT_TRUE(r->after);
  // A threshold below what this channel can resolve forces a step, which
  // the dry-run guest refuses: an error, never a pretend success.
  o.residual_threshold_ns = 0;
  auto r2 = sync_via_companion(ch, nullptr, time, o, {});
  if (r2) {
    EXPECT_TRUE(r2->steps.empty()) << "only when the measured offset was exactly 0";
  } else {
    EXPECT_EQ(r2.error().code, make_error_code(errc::validation_failed));
  }
}

TEST_F(CompanionProgram, AClientThatLeftMidLineDoesNotPoisonTheNext) {
  write_raw("MCC1 S 9 12");  // no newline: the host "went away" (here: a new line starts)
  auto ch = CompanionChannel::adopt(dup(master_));
  // On a pty there is no hang-up to void the partial line, so it joins the
  // next bytes: "MCC1 S 9 12MCC1 I n" is malformed and ignored, and the
  // client's retry gets its answer.
  ASSERT_TRUE(first_info(ch));
  EXPECT_TRUE(alive());
}

}  // namespace
}  // namespace migclock::agent_sync
