// The host end of the probe over a real unix socket, against a stand-in for
// QEMU's chardev + the guest program that answers with a known offset from
// this host's clock (the guest program itself runs in the demo's real guest).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "migclock/timeprobe/channel.hpp"
#include "protocol.h"

namespace migclock::timeprobe {
namespace {

class FakeGuest {
 public:
  // Answers with host time + offset_ns; the reply to request `late_seq` is
  // held back by `late_ms` (a stale reply the host must discard).
  FakeGuest(int64_t offset_ns, uint64_t late_seq = 0, int late_ms = 0)
      : path_("/tmp/mctp-test-" + std::to_string(getpid()) + ".sock") {
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path_.c_str());
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    thread_ = std::thread([=] {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      migclock_timeprobe_request req{};
      while (::recv(fd, &req, sizeof req, MSG_WAITALL) == static_cast<ssize_t>(sizeof req)) {
        const int64_t now = realtime_ns() + offset_ns;
        if (req.seq == late_seq) std::this_thread::sleep_for(std::chrono::milliseconds(late_ms));
        migclock_timeprobe_reply rep{};
        rep.magic = MIGCLOCK_TIMEPROBE_MAGIC;
        rep.seq = req.seq;
        rep.sec = now / 1'000'000'000;
        rep.nsec = now % 1'000'000'000;
        if (::send(fd, &rep, sizeof rep, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof rep)) break;
      }
      ::close(fd);
    });
  }
  ~FakeGuest() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int listen_fd_ = -1;
  std::thread thread_;
};

TEST(TimeprobeChannel, MeasuresAKnownOffsetWithinItsOwnBound) {
  FakeGuest guest(-42'000'000);
  auto ch = ProbeChannel::connect(guest.path(), std::chrono::seconds(2));
  ASSERT_TRUE(ch) << ch.error().message();
  int lost = 0;
  auto e = estimate(ch->burst(16, std::chrono::milliseconds(500), &lost), 4);
  ASSERT_TRUE(e);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(e->total, 16u);
  EXPECT_LE(std::llabs(e->offset_ns - (-42'000'000)), e->uncertainty_ns);
  EXPECT_LT(e->uncertainty_ns, 5'000'000) << "loopback exchanges take microseconds";
}

TEST(TimeprobeChannel, ALateReplyTimesOutAndIsDiscardedByTheNextExchange) {
  FakeGuest guest(1'000'000, /*late_seq=*/1, /*late_ms=*/150);
  auto ch = ProbeChannel::connect(guest.path(), std::chrono::seconds(2));
  ASSERT_TRUE(ch);
  auto first = ch->exchange(std::chrono::milliseconds(50));
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, make_error_code(errc::timeout));
  auto second = ch->exchange(std::chrono::milliseconds(1000));  // reads reply 1 first, skips it
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_GE(second->rtt_ns(), 0);
  EXPECT_LE(std::llabs(second->offset_ns() - 1'000'000), second->rtt_ns() / 2 + 1);
}

TEST(TimeprobeChannel, ConnectGivesUpAfterItsWaitWhenNoSocketAppears) {
  const auto t0 = std::chrono::steady_clock::now();
  auto ch = ProbeChannel::connect("/tmp/mctp-absent-" + std::to_string(getpid()), std::chrono::milliseconds(100));
  ASSERT_FALSE(ch);
  EXPECT_EQ(ch.error().code, std::error_code(ENOENT, std::generic_category()));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace migclock::timeprobe
