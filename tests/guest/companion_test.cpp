// The companion's logic byte by byte, with a recorded stand-in for the
// system's clock (stepping this host's real clock in a test is not an
// option; the real step runs in the test guest, judged by the time probe).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "migclock/guest/companion.hpp"

namespace migclock::guest {
namespace {

class RecordedSystem final : public SystemOps {
 public:
  void realtime(int64_t& sec, int64_t& nsec) override {
    sec = 1700000000;
    nsec = 123;
  }
  int step(int64_t ns) override {
    steps.push_back(ns);
    return step_errno;
  }
  std::string clocksource() override { return cs; }
  bool process_running(const char* comm) override { return std::string(comm) == "chronyd" ? chronyd : false; }
  std::string nudge_after_step() override {
    ++nudges;
    return chronyd ? "chrony-reset-burst" : "none";
  }
  std::vector<int64_t> steps;
  int step_errno = 0;
  std::string cs = "kvm-clock";
  bool chronyd = false;
  int nudges = 0;
};

std::string feed(Companion& c, const std::string& bytes) { return c.feed(bytes.data(), bytes.size()); }

TEST(Companion, AnswersTimeAndInfo) {
  RecordedSystem sys;
  Companion c(sys, {});
  EXPECT_EQ(feed(c, "MCC1 T 1\n"), "MCC1 t 1 1700000000 123\n");
  sys.chronyd = true;
  EXPECT_EQ(feed(c, "MCC1 I 2\n"), "MCC1 i 2 v=1 cs=kvm-clock chronyd=1 ntpd=0 bad=0 steps=0 nudge=none\n");
}

TEST(Companion, StepsRelativeAndNudgesChronyAfterTheReply) {
  RecordedSystem sys;
  sys.chronyd = true;
  Companion c(sys, {});
  EXPECT_EQ(c.on_line("MCC1 S 3 -250000"), "MCC1 s 3 ok -250000\n");
  EXPECT_EQ(sys.nudges, 0) << "the nudge waits until the reply left";
  c.after_reply();
  EXPECT_EQ(sys.nudges, 1);
  EXPECT_EQ(sys.steps, std::vector<int64_t>{-250000});
  EXPECT_EQ(c.last_nudge(), "chrony-reset-burst");
}

TEST(Companion, BoundsStepsUnlessExplicitlyBig) {
  RecordedSystem sys;
  CompanionOptions o;
  o.max_step_ns = 1'000'000'000;
  Companion c(sys, o);
  EXPECT_EQ(feed(c, "MCC1 S 4 1000000001\n"), "MCC1 s 4 no too-big\n");
  EXPECT_EQ(feed(c, "MCC1 S 5 -9223372036854775808\n"), "MCC1 s 5 no too-big\n");
  EXPECT_TRUE(sys.steps.empty());
  EXPECT_EQ(feed(c, "MCC1 S 6 3000000000 big\n"), "MCC1 s 6 ok 3000000000\n");
  EXPECT_EQ(sys.steps, std::vector<int64_t>{3000000000});
}

TEST(Companion, AFailedStepIsReportedWithItsErrno) {
  RecordedSystem sys;
  sys.step_errno = 1;  // EPERM: no CAP_SYS_TIME
  Companion c(sys, {});
  EXPECT_EQ(feed(c, "MCC1 S 7 100\n"), "MCC1 s 7 no errno-1\n");
  EXPECT_EQ(c.counters().steps_applied, 0u);
  EXPECT_EQ(c.counters().steps_refused, 1u);
}

TEST(Companion, DryRunNeverSteps) {
  RecordedSystem sys;
  CompanionOptions o;
  o.dry_run = true;
  Companion c(sys, o);
  EXPECT_EQ(feed(c, "MCC1 S 8 100\n"), "MCC1 s 8 no dry-run\n");
  EXPECT_TRUE(sys.steps.empty());
}

TEST(Companion, OverlongLinesAreDroppedWholeAndCounted) {
  RecordedSystem sys;
  Companion c(sys, {});
  // A valid step hidden at the end of an overlong line must not run.
  std::string flood(5000, 'x');
  EXPECT_EQ(feed(c, flood + "MCC1 S 9 100\n"), "");
  EXPECT_TRUE(sys.steps.empty());
  EXPECT_EQ(c.assembler().overlong(), 1u);
  EXPECT_EQ(feed(c, "MCC1 T 10\n"), "MCC1 t 10 1700000000 123\n") << "framing recovers at the next newline";
}

TEST(Companion, APartialLineFromAHostThatLeftIsVoid) {
  RecordedSystem sys;
  Companion c(sys, {});
  EXPECT_EQ(feed(c, "MCC1 S 11 1"), "");
  c.assembler().reset();
  EXPECT_EQ(feed(c, "00\n"), "") << "the tail alone is malformed";
  EXPECT_TRUE(sys.steps.empty());
  EXPECT_EQ(c.counters().malformed, 1u);
}

TEST(Companion, RandomBytesNeverStepAndNeverCrash) {
  RecordedSystem sys;
  Companion c(sys, {});
  std::mt19937_64 rng(20261206);
  std::string out;
  for (int round = 0; round < 2000; ++round) {
    std::string junk(1 + rng() % 300, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    out += feed(c, junk);
  }
  EXPECT_TRUE(sys.steps.empty());
  // Whatever was answered is well-formed and from this protocol.
  std::size_t from = 0;
  while (from < out.size()) {
    const std::size_t nl = out.find('\n', from);
    ASSERT_NE(nl, std::string::npos);
    EXPECT_EQ(out.compare(from, 5, "MCC1 "), 0);
    from = nl + 1;
  }
  EXPECT_GT(c.counters().malformed + c.assembler().overlong(), 0u);
  EXPECT_EQ(feed(c, "\nMCC1 T 12\n"), "MCC1 t 12 1700000000 123\n");
}

TEST(Companion, UnknownVerbGetsAnError) {
  RecordedSystem sys;
  Companion c(sys, {});
  EXPECT_EQ(feed(c, "MCC1 Z 13\n"), "MCC1 e 13 unknown\n");
  EXPECT_EQ(c.counters().unknown, 1u);
}

TEST(Companion, InfoStaysOneLineWhateverTheClocksourceFileSays) {
  RecordedSystem sys;
  sys.cs = "a b=c\nd" + std::string(200, 'z');
  Companion c(sys, {});
  const std::string r = feed(c, "MCC1 I 14\n");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.find('\n'), r.size() - 1);
  EXPECT_LE(r.size(), kMaxLine);
  auto p = parse_reply(std::string_view(r).substr(0, r.size() - 1));
  ASSERT_TRUE(p);
  EXPECT_EQ(info_value(p->text, "cs"), "a_b_c_d" + std::string(17, 'z'));
}

}  // namespace
}  // namespace migclock::guest
