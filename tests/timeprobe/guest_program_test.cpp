// The real guest program (tools/guest/timeprobe/timeprobe_guest.c, built for
// this host) driven by the real host end through a raw-mode pty standing in
// for the virtio-serial port. Guest and host read the same clock here, so
// the truth is known: offset 0, which the estimate must cover.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>

#include "migclock/timeprobe/channel.hpp"

namespace migclock::timeprobe {
namespace {

class GuestProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_GE(master_, 0);
    ASSERT_EQ(grantpt(master_), 0);
    ASSERT_EQ(unlockpt(master_), 0);
    const std::string slave = ptsname(master_);
    // Raw both ways: the protocol is binary (a newline byte must stay one).
    termios t{};
    ASSERT_EQ(tcgetattr(master_, &t), 0);
    cfmakeraw(&t);
    ASSERT_EQ(tcsetattr(master_, TCSANOW, &t), 0);
    const int s = open(slave.c_str(), O_RDWR | O_NOCTTY);
    ASSERT_GE(s, 0);
    ASSERT_EQ(tcgetattr(s, &t), 0);
    cfmakeraw(&t);
    ASSERT_EQ(tcsetattr(s, TCSANOW, &t), 0);
    slave_keep_ = s;  // keeps the raw settings while the program opens its own fd
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      execl(MIGCLOCK_TIMEPROBE_GUEST_BIN, MIGCLOCK_TIMEPROBE_GUEST_BIN, slave.c_str(), nullptr);
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
  int master_ = -1, slave_keep_ = -1;
  pid_t pid_ = -1;
};

TEST_F(GuestProgram, AnswersWithItsRealtimeWhichTheEstimateCovers) {
  auto ch = ProbeChannel::adopt(master_);
  // The program opens the port by path, which may take a moment.
  int lost = 0;
  std::vector<Exchange> xs;
  for (int i = 0; i < 50 && xs.size() < 16; ++i) {
    auto b = ch.burst(1, std::chrono::milliseconds(200), &lost);
    xs.insert(xs.end(), b.begin(), b.end());
  }
  ASSERT_GE(xs.size(), 16u) << "the guest program did not answer";
  for (const auto& x : xs) {
    EXPECT_LE(x.t1_ns, x.guest_ns) << "the guest read its clock after the request left";
    EXPECT_LE(x.guest_ns, x.t4_ns) << "and before the reply arrived";
  }
  auto e = estimate(xs, 4);
  ASSERT_TRUE(e);
  EXPECT_LE(std::llabs(e->offset_ns), e->uncertainty_ns) << "same clock: the truth is 0";
  EXPECT_LT(e->uncertainty_ns, 5'000'000);
}

}  // namespace
}  // namespace migclock::timeprobe
