// The agent's companion sync against the companion's real logic (Companion,
// protocol, framing) over a real pty, with the guest's clock simulated as
// host CLOCK_REALTIME + an offset that steps move: the one part that cannot
// be real in a test on a shared host. Checks the sync converges, reports
// what it did, and keeps to the backward-step policy.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "migclock/agent_sync/companion_sync.hpp"
#include "migclock/guest/companion.hpp"

namespace migclock::agent_sync {
namespace {

class OffsetClock final : public guest::SystemOps {
 public:
  explicit OffsetClock(int64_t offset_ns) : offset_(offset_ns) {}
  void realtime(int64_t& sec, int64_t& nsec) override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const int64_t ns = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec + offset_.load();
    sec = ns / 1'000'000'000;
    nsec = ns % 1'000'000'000;
  }
  int step(int64_t ns) override {
    offset_ += ns;
    ++steps;
    return 0;
  }
  std::string clocksource() override { return "simulated"; }
  bool process_running(const char*) override { return false; }
  std::string nudge_after_step() override { return "none"; }
  int64_t offset() const { return offset_.load(); }
  std::atomic<int> steps{0};

 private:
  std::atomic<int64_t> offset_;
};

class CompanionSync : public ::testing::Test {
 protected:
  void start(int64_t offset_ns) {
    clock_ = std::make_unique<OffsetClock>(offset_ns);
    master_ = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_GE(master_, 0);
    ASSERT_EQ(grantpt(master_), 0);
    ASSERT_EQ(unlockpt(master_), 0);
    slave_ = open(ptsname(master_), O_RDWR | O_NOCTTY);
    ASSERT_GE(slave_, 0);
    for (int fd : {master_, slave_}) {
      termios t{};
      ASSERT_EQ(tcgetattr(fd, &t), 0);
      cfmakeraw(&t);
      ASSERT_EQ(tcsetattr(fd, TCSANOW, &t), 0);
    }
    guest_ = std::thread([this] {
      guest::Companion comp(*clock_, {});
      char buf[256];
      while (!stop_) {
        pollfd p{slave_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        const ssize_t n = read(slave_, buf, sizeof buf);
        if (n <= 0) continue;
        comp.assembler().feed(buf, static_cast<std::size_t>(n), [&](std::string_view line) {
          const std::string r = comp.on_line(line);
          if (!r.empty() && write(slave_, r.data(), r.size()) < 0) return;
        });
      }
    });
  }
  void TearDown() override {
    stop_ = true;
    if (guest_.joinable()) guest_.join();
    if (slave_ >= 0) close(slave_);
  }
  std::unique_ptr<OffsetClock> clock_;
  int master_ = -1, slave_ = -1;
  std::atomic<bool> stop_{false};
  std::thread guest_;
  SystemTimeSource time_;
};

TEST_F(CompanionSync, StepsALaggingGuestToWithinTheThreshold) {
  start(-180'000'000);  // 180 ms behind, as after a TCG migration
  auto ch = CompanionChannel::adopt(master_);
  SyncOptions o;
  o.residual_threshold_ns = 200'000;  // a pty on a shared host: generous, the point is convergence
  auto r = sync_via_companion(ch, nullptr, time_, o, {});
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_FALSE(r->steps.empty());
  EXPECT_NEAR(static_cast<double>(r->steps.front().step_ns), 180e6, 2e6);
  ASSERT_TRUE(r->after);
  EXPECT_LE(std::llabs(r->after->median_offset_ns), o.residual_threshold_ns);
  // The simulated truth agrees with the report.
  EXPECT_LE(std::llabs(clock_->offset()), o.residual_threshold_ns + r->after->asymmetry_bound_ns);
}

TEST_F(CompanionSync, ALongPauseIsSentAsBig) {
  start(-5'000'000'000);  // 5 s: above the companion's 1 s bound
  auto ch = CompanionChannel::adopt(master_);
  SyncOptions o;
  o.residual_threshold_ns = 200'000;
  auto r = sync_via_companion(ch, nullptr, time_, o, {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_LE(std::llabs(clock_->offset()), 1'000'000);
}

TEST_F(CompanionSync, RefusesABackwardStepThePolicyForbids) {
  start(+50'000'000);  // 50 ms ahead
  auto ch = CompanionChannel::adopt(master_);
  SyncOptions o;
  o.backward = BackwardStepPolicy::allow_small;
  o.max_backward_step_ns = 5'000'000;
  auto r = sync_via_companion(ch, nullptr, time_, o, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::would_step_backwards));
  EXPECT_EQ(clock_->steps.load(), 0) << "the guest clock was left alone";
  o.backward = BackwardStepPolicy::allow;
  o.residual_threshold_ns = 200'000;
  auto r2 = sync_via_companion(ch, nullptr, time_, o, {});
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_LE(std::llabs(clock_->offset()), 1'000'000);
}

TEST_F(CompanionSync, MeasurePolicyNeverSteps) {
  start(-10'000'000);
  auto ch = CompanionChannel::adopt(master_);
  SyncOptions o;
  o.policy = SyncPolicy::measure;
  auto r = sync_via_companion(ch, nullptr, time_, o, {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->steps.empty());
  EXPECT_EQ(clock_->steps.load(), 0);
  ASSERT_TRUE(r->before);
  EXPECT_NEAR(static_cast<double>(r->before->median_offset_ns), -10e6, 1e6);
}

}  // namespace
}  // namespace migclock::agent_sync
