// Policy and arithmetic of the guest clock repair, the retry loop and its
// cancellation, against the deterministic guest model (ModelTest).
#include <gtest/gtest.h>

#include <thread>

#include "migclock/agent_sync/apply_delay_memory.hpp"
#include "migclock/agent_sync/apply_delay_tracker.hpp"
#include "migclock/agent_sync/clock_sync.hpp"
#include "migclock/agent_sync/report_json.hpp"
#include "migclock/agent_sync/sync_retry.hpp"
#include "simulated_guest.hpp"

namespace migclock::agent_sync {
namespace {

constexpr int64_t kEpoch = 1'700'000'000'000'000'000;  // µs-aligned, like every model delay

struct Model {
  ManualTimeSource host{kEpoch, 1'000'000};
  testing::SimulatedGuest guest{host};
  testing::RecordingMonitor monitor;
};

TEST(SyncModelTest, StepLearnsTheApplyDelayAndConvergesToZero) {
  Model m;
  m.guest.offset_ns = -3'000'000'000;  // a 3 s suspend
  auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_TRUE(r->before && r->after);
  EXPECT_EQ(r->before->median_offset_ns, -3'000'000'000);
  ASSERT_EQ(r->steps.size(), 2u);
  // First target assumes min RTT / 2 = 150 µs; the guest applies 1.35 ms after send.
  EXPECT_EQ(r->steps[0].assumed_delay_ns, 150'000);
  EXPECT_EQ(r->steps[0].step_ns, 3'000'000'000);
  EXPECT_EQ(r->steps[0].after.median_offset_ns, -1'200'000);
  // The residual corrects the delay estimate: 150 µs + 1.2 ms.
  EXPECT_EQ(r->steps[1].assumed_delay_ns, 1'350'000);
  EXPECT_EQ(r->after->median_offset_ns, 0);
  EXPECT_EQ(m.guest.offset_ns, 0);
  EXPECT_EQ(m.guest.count("guest-set-time"), 2);
  EXPECT_GT(r->duration_ns(), 0);
  ASSERT_TRUE(r->learned_apply_delay_ns.has_value());
  EXPECT_EQ(*r->learned_apply_delay_ns, 1'350'000);
  EXPECT_EQ(r->steps[0].set_call_ns, 150'000 + 1'200'000 + 10'000'000 + 150'000);
}

TEST(SyncModelTest, ALearnedApplyDelayMakesOneStepEnough) {
  Model m;
  m.guest.offset_ns = -80'000'000;
  SyncOptions o;
  o.apply_delay_hint_ns = 1'350'000;  // what the previous sync of this VM learned
  auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->steps.size(), 1u);
  EXPECT_EQ(r->after->median_offset_ns, 0);
  EXPECT_EQ(*r->learned_apply_delay_ns, 1'350'000);
}

// After a migration the first guest-set-time runs cold (2 ms to apply), the
// ones after it warm (0.7 ms). A correction that assumes the first step's
// delay overshoots by the difference; one that assumes the learned
// correction delay lands.
TEST(SyncModelTest, ACorrectionAssumesTheWarmDelayNotTheColdFirstOne) {
  for (bool with_hint : {false, true}) {
    Model m;
    m.guest.offset_ns = -130'000'000;
    m.guest.apply_sequence = {2'000'000, 700'000, 700'000};
    SyncOptions o;
    o.max_corrections = 1;
    if (with_hint) o.correction_delay_hint_ns = 700'000 + 150'000;  // as learned: send-to-apply incl. the path
    auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->steps.size(), 2u);
    if (with_hint) {
      EXPECT_EQ(r->after->median_offset_ns, 0);
    } else {
      EXPECT_EQ(r->after->median_offset_ns, 1'300'000);  // 2.15 ms assumed, 0.85 ms taken
    }
  }
}

// After a migration: the first step at once, then wait for the guest to
// settle, measure again and correct from that measurement.
TEST(SyncModelTest, CorrectionsWaitForTheSettleAfterTheFirstStep) {
  Model m;
  m.guest.offset_ns = -130'000'000;
  m.guest.apply_sequence = {10'000'000, 700'000};
  SyncOptions o;
  o.settle_before_corrections = std::chrono::milliseconds(300);
  o.correction_delay_hint_ns = 850'000;
  int sleeps = 0;
  o.sleep = [&](std::chrono::nanoseconds d) {
    ++sleeps;
    m.host.advance_ns(d.count());
  };
  auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->steps.size(), 2u);
  EXPECT_EQ(sleeps, 1);
  EXPECT_GE(r->steps[1].sent_at_mono_ns - r->steps[0].sent_at_mono_ns, 300'000'000);
  ASSERT_TRUE(r->settled.has_value());
  EXPECT_EQ(r->settled->median_offset_ns, r->steps[0].after.median_offset_ns);  // the model guest does not drift
  EXPECT_EQ(r->after->median_offset_ns, 0);
  // The first step's delay is learned from the settled measurement.
  EXPECT_EQ(r->first_step_delay_ns(), std::optional<int64_t>(10'150'000));
}

TEST(ApplyDelayModelTest, MemoryKeepsFirstStepsPerEventKindAndCorrectionsPerVm) {
  Model m;
  m.guest.offset_ns = -130'000'000;
  m.guest.apply_sequence = {2'000'000, 700'000};
  SyncOptions one_correction;
  one_correction.max_corrections = 1;
  auto r = sync_guest_clock(m.guest, nullptr, m.host, one_correction);
  ASSERT_TRUE(r.ok());
  ApplyDelayMemory memory;
  memory.learn(*r, "vm", "migrated");
  SyncOptions migrated, resumed;
  memory.fill(migrated, "vm", "migrated");
  memory.fill(resumed, "vm", "resumed");
  EXPECT_EQ(migrated.apply_delay_hint_ns, std::optional<int64_t>(2'150'000));
  EXPECT_EQ(resumed.apply_delay_hint_ns, std::nullopt);  // another event kind: not learned yet
  EXPECT_EQ(migrated.correction_delay_hint_ns, std::optional<int64_t>(850'000));
  EXPECT_EQ(resumed.correction_delay_hint_ns, std::optional<int64_t>(850'000));
}

TEST(SyncModelTest, NoCorrectionWhenTheFirstStepLandsWithinTheThreshold) {
  Model m;
  m.guest.offset_ns = -163'000'000;  // the worst migration lag measured here
  m.guest.apply_ns = 20'000;         // within the 50 µs threshold
  auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->steps.size(), 1u);
  EXPECT_EQ(r->after->median_offset_ns, -20'000);
}

TEST(SyncModelTest, CorrectionsStopAtMaxCorrections) {
  Model m;
  m.guest.offset_ns = -1'000'000'000;
  SyncOptions o;
  o.max_corrections = 0;
  auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->steps.size(), 1u);
  EXPECT_EQ(r->after->median_offset_ns, -1'200'000);
}

TEST(SyncModelTest, NoCorrectionWithinTheKnownApplyJitter) {
  Model m;
  m.guest.offset_ns = -3'000'000'000;
  SyncOptions o;
  o.apply_jitter_ns = 2'000'000;  // this VM's apply delay wanders by 2 ms: a 1.2 ms residual is noise
  auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->steps.size(), 1u);
  EXPECT_EQ(r->after->median_offset_ns, -1'200'000);
  EXPECT_EQ(r->implied_apply_delays_ns(), std::vector<int64_t>{1'350'000});

  Model quiet;
  quiet.guest.offset_ns = -3'000'000'000;
  o.apply_jitter_ns = 100'000;
  auto q = sync_guest_clock(quiet.guest, nullptr, quiet.host, o);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->steps.size(), 2u);
  EXPECT_EQ(q->after->median_offset_ns, 0);
  EXPECT_EQ(q->implied_apply_delays_ns(), (std::vector<int64_t>{1'350'000, 1'350'000}));
}

TEST(SyncModelTest, StopsCorrectingWhenACorrectionMadeItWorse) {
  Model m;
  m.guest.offset_ns = -3'000'000'000;
  m.guest.apply_sequence = {1'200'000, 9'000'000, 1'200'000};  // the second call is slow
  auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->steps.size(), 2u) << "a third step would chase the noise";
  EXPECT_EQ(r->steps[0].after.median_offset_ns, -1'200'000);
  // assumed 1.35 ms, applied after 9.15 ms
  EXPECT_EQ(r->steps[1].after.median_offset_ns, -7'800'000);
}

TEST(SyncModelTest, AGuestAlreadyInSyncIsNotStepped) {
  Model m;
  m.guest.offset_ns = 10'000;
  auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->steps.empty());
  EXPECT_EQ(m.guest.count("guest-set-time"), 0);
}

TEST(SyncModelTest, MeasurePolicyNeverTouchesTheGuest) {
  Model m;
  m.guest.offset_ns = -3'000'000'000;
  SyncOptions o;
  o.policy = SyncPolicy::measure;
  o.rtc = RtcCatchupPolicy::reset_reinjection;
  auto r = sync_guest_clock(m.guest, &m.monitor, m.host, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->before->median_offset_ns, -3'000'000'000);
  EXPECT_EQ(m.guest.count("guest-set-time"), 0);
  EXPECT_GT(m.guest.count("guest-get-time"), 0);
  EXPECT_TRUE(m.monitor.commands.empty());
  EXPECT_EQ(m.guest.offset_ns, -3'000'000'000);
}

TEST(SyncModelTest, OffPolicySendsNothing) {
  Model m;
  SyncOptions o;
  o.policy = SyncPolicy::off;
  auto r = sync_guest_clock(m.guest, &m.monitor, m.host, o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->before.has_value());
  EXPECT_TRUE(m.guest.commands.empty());
}

TEST(SyncModelTest, BackwardStepsFollowThePolicy) {
  {
    Model m;
    m.guest.offset_ns = 2'000'000;  // guest 2 ms ahead
    SyncOptions o;
    o.backward = BackwardStepPolicy::refuse;
    auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, make_error_code(errc::would_step_backwards));
    EXPECT_EQ(m.guest.count("guest-set-time"), 0);
  }
  {
    Model m;
    m.guest.offset_ns = 2'000'000;  // within allow_small's 5 ms
    auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(m.guest.offset_ns, 0);
  }
  {
    Model m;
    m.guest.offset_ns = 1'000'000'000;  // 1 s ahead: beyond allow_small
    auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, make_error_code(errc::would_step_backwards));
    EXPECT_EQ(m.guest.offset_ns, 1'000'000'000);
  }
  {
    Model m;
    m.guest.offset_ns = 1'000'000'000;
    SyncOptions o;
    o.backward = BackwardStepPolicy::allow;
    auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(m.guest.offset_ns, 0);
  }
}

TEST(SyncModelTest, AnOvershootIsTakenBackOnlyWithinThisSyncsOwnForwardStep) {
  Model m;
  m.guest.offset_ns = -3'000'000'000;
  SyncOptions o;
  o.apply_delay_hint_ns = 10'350'000;  // a stale hint: the first step lands 9 ms ahead
  auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->steps.size(), 2u);
  EXPECT_EQ(r->steps[0].after.median_offset_ns, 9'000'000);
  EXPECT_EQ(r->steps[1].step_ns, -9'000'000);  // beyond 5 ms, but within the 3 s forward step
  EXPECT_EQ(m.guest.offset_ns, 0);

  Model refusing;
  refusing.guest.offset_ns = -3'000'000'000;
  o.backward = BackwardStepPolicy::refuse;
  auto f = sync_guest_clock(refusing.guest, nullptr, refusing.host, o);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, make_error_code(errc::would_step_backwards));
  EXPECT_EQ(refusing.guest.offset_ns, 9'000'000) << "the forward step stands, the backward one is refused";
}

TEST(SyncModelTest, RtcReinjectionIsResetOnceAfterTheStep) {
  Model m;
  m.guest.offset_ns = -37'000'000;
  SyncOptions o;
  o.rtc = RtcCatchupPolicy::reset_reinjection;
  auto r = sync_guest_clock(m.guest, &m.monitor, m.host, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->rtc_reinjection_reset);
  ASSERT_EQ(m.monitor.commands.size(), 1u);
  EXPECT_EQ(m.monitor.commands[0], R"({"execute":"rtc-reset-reinjection"})");

  Model failing;
  failing.guest.offset_ns = -37'000'000;
  failing.monitor.fail = true;
  auto f = sync_guest_clock(failing.guest, &failing.monitor, failing.host, o);
  ASSERT_TRUE(f.ok()) << "an RTC failure must not undo a good clock step";
  EXPECT_FALSE(f->rtc_reinjection_reset);
  EXPECT_NE(f->rtc_error.find("no RTC"), std::string::npos);
  EXPECT_EQ(failing.guest.offset_ns, 0);
}

TEST(SyncModelTest, AgentErrorsAreReturnedNotThrown) {
  Model m;
  m.guest.answer_with_error = true;
  auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::io_error));
}

TEST(SyncModelTest, PolicyNamesParse) {
  EXPECT_EQ(*parse_sync_policy("step"), SyncPolicy::step);
  EXPECT_EQ(*parse_sync_policy("measure"), SyncPolicy::measure);
  EXPECT_EQ(*parse_sync_policy("off"), SyncPolicy::off);
  EXPECT_EQ(parse_sync_policy("Step").error().code, make_error_code(errc::invalid_argument));
}

TEST(SyncModelTest, ReportSerialisesToJson) {
  Model m;
  m.guest.offset_ns = -3'000'000'000;
  auto r = sync_guest_clock(m.guest, nullptr, m.host, SyncOptions{});
  ASSERT_TRUE(r.ok());
  const std::string json = to_json(*r);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["policy"].GetString(), "step");
  EXPECT_EQ(doc["before"]["median_offset_ns"].GetInt64(), -3'000'000'000);
  EXPECT_EQ(doc["after"]["median_offset_ns"].GetInt64(), 0);
  EXPECT_EQ(doc["steps"].Size(), 2u);
}

TEST(ApplyDelayModelTest, HintIsTheMedianOfTheRecentWindowPerVm) {
  ApplyDelayTracker t(3);
  EXPECT_FALSE(t.hint("a").has_value());
  t.record("a", 1'000'000);
  EXPECT_EQ(*t.hint("a"), 1'000'000);
  t.record("a", 20'000'000);  // one slow call
  t.record("a", 1'200'000);
  EXPECT_EQ(*t.hint("a"), 1'200'000);
  t.record("a", 1'100'000);  // window 3: the 1.0 ms sample drops out
  EXPECT_EQ(*t.hint("a"), 1'200'000);
  t.record("a", 1'300'000);  // now {1.2, 1.1, 1.3}: the outlier is gone
  EXPECT_EQ(*t.hint("a"), 1'200'000);
  EXPECT_FALSE(t.hint("b").has_value());
  // {1.2, 1.1, 1.3}: median 1.2, deviations {0, 0.1, 0.1} -> MAD 0.1 ms
  EXPECT_EQ(*t.jitter_ns("a"), 148'260);
  EXPECT_FALSE(t.jitter_ns("b").has_value());
  t.forget("a");
  EXPECT_FALSE(t.hint("a").has_value());
}

TEST(SyncRetryModelTest, RetriesUntilTheAgentConnects) {
  Model m;
  m.guest.offset_ns = -50'000'000;
  m.guest.unavailable_for_calls = 3;
  m.guest.unavailable_cost_ns = 100'000'000;
  CancelToken never;
  auto r = sync_when_agent_connects(m.guest, nullptr, m.host, SyncOptions{},
                                    RetryOptions{std::chrono::milliseconds(60'000), std::chrono::milliseconds(1)}, never);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->attempts, 4);
  EXPECT_EQ(r->connected_at_ns - r->first_attempt_ns, 300'000'000);
  EXPECT_EQ(m.guest.offset_ns, 0);
}

TEST(SyncRetryModelTest, GivesUpAtTheDeadline) {
  Model m;
  m.guest.unavailable_for_calls = 1'000'000;
  m.guest.unavailable_cost_ns = 1'000'000'000;  // each attempt: 1 s of host time
  CancelToken never;
  auto r = sync_when_agent_connects(m.guest, nullptr, m.host, SyncOptions{},
                                    RetryOptions{std::chrono::milliseconds(60'000), std::chrono::milliseconds(1)}, never);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::timeout));
  EXPECT_EQ(m.guest.commands.size(), 60u);
}

TEST(SyncRetryModelTest, OtherErrorsAreNotRetried) {
  Model m;
  m.guest.answer_with_error = true;
  CancelToken never;
  auto r = sync_when_agent_connects(m.guest, nullptr, m.host, SyncOptions{}, RetryOptions{}, never);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::io_error));
  EXPECT_EQ(m.guest.commands.size(), 1u);
}

// The agent-lifecycle "connected" event nudges the waiting sync: it tries
// again at once instead of sleeping out its interval, and is not cancelled.
TEST(SyncRetryModelTest, AConnectedEventEndsTheWaitWithoutCancelling) {
  Model m;
  m.guest.offset_ns = -50'000'000;
  m.guest.unavailable_for_calls = 1;
  SupersedingGate gate;
  auto token = gate.begin("vm-a");
  std::thread connected([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    gate.nudge("vm-b");  // another VM's agent: no effect on vm-a
    gate.nudge("vm-a");
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = sync_when_agent_connects(m.guest, nullptr, m.host, SyncOptions{},
                                    RetryOptions{std::chrono::milliseconds(600'000), std::chrono::milliseconds(300'000)},
                                    *token);
  const auto waited = std::chrono::steady_clock::now() - t0;
  connected.join();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_FALSE(token->cancelled());
  EXPECT_LT(waited, std::chrono::seconds(60));  // far below the 300 s interval it would otherwise sleep
  EXPECT_EQ(m.guest.offset_ns, 0);
}

TEST(SyncRetryModelTest, ANewerEventForTheSameVmCancelsTheWait) {
  Model m;
  m.guest.unavailable_for_calls = 1'000'000;  // never connects; model time never reaches the deadline
  SupersedingGate gate;
  auto first = gate.begin("vm-a");
  auto other_vm = gate.begin("vm-b");
  std::thread newer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    gate.begin("vm-a");
  });
  auto r = sync_when_agent_connects(m.guest, nullptr, m.host, SyncOptions{},
                                    RetryOptions{std::chrono::milliseconds(60'000), std::chrono::milliseconds(5'000)},
                                    *first);
  newer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::conflict));
  EXPECT_TRUE(first->cancelled());
  EXPECT_FALSE(other_vm->cancelled());
  gate.finish("vm-a", first);  // stale token: the newer entry stays
  EXPECT_EQ(gate.active(), 2u);
  gate.finish("vm-b", other_vm);
  EXPECT_EQ(gate.active(), 1u);
}

}  // namespace
}  // namespace migclock::agent_sync

namespace migclock::agent_sync {
namespace {

// qemu-ga's request path slower than its reply path (1.15 ms vs 0.15 ms):
// its NTP-style offset reads (1.15 - 0.15) / 2 = 0.5 ms high, and a sync
// that drives its own measurement to zero leaves the guest 0.5 ms behind.
// With the reply path known (SyncOptions::channel_reply_path_ns, learned
// against the companion) each measurement loses RTT/2 - reply and it lands.
TEST(SyncModelTest, AKnownChannelAsymmetryIsRemovedFromEveryMeasurement) {
  for (const bool known : {false, true}) {
    Model m;
    m.guest.offset_ns = -3'000'000'000;
    m.guest.to_guest_ns = 1'150'000;
    m.guest.to_host_ns = 150'000;
    SyncOptions o;
    o.max_corrections = 4;
    if (known) o.channel_reply_path_ns = 150'000;
    auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_TRUE(r->after);
    EXPECT_EQ(r->channel_bias_ns, known ? 500'000 : 0);
    // The sync believes it landed either way...
    EXPECT_LE(std::llabs(r->residual_ns(*r->after)), o.residual_threshold_ns);
    // ...but only the unbiased one did (the model's truth, to the µs the
    // guest's clock reads in).
    if (known) {
      EXPECT_LE(std::llabs(m.guest.offset_ns), o.residual_threshold_ns) << m.guest.offset_ns;
    } else {
      EXPECT_NEAR(m.guest.offset_ns, -500'000, o.residual_threshold_ns);
    }
  }
}

}  // namespace
}  // namespace migclock::agent_sync
