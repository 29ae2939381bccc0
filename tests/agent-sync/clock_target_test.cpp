// The sync's target (clock_target.hpp): the domain's <clock>, continuity
// from a measurement or from the pause, the tz lookups, and the sync
// stepping to it against the deterministic guest model (ModelTest).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <unistd.h>
#include <sstream>

#include "migclock/agent_sync/clock_sync.hpp"
#include "migclock/agent_sync/clock_target.hpp"
#include "migclock/agent_sync/tz_offset.hpp"
#include "simulated_guest.hpp"

namespace migclock::agent_sync {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kEpoch = 1'780'000'000'000'000'000;  // 2026-05-28, µs-aligned
const int64_t kWinter = 1'767'225'600;                  // 2026-01-01T00:00:00Z
const int64_t kSummer = 1'783'000'000;                  // 2026-07-02

DomainClock parsed(const std::string& xml) {
  auto c = parse_domain_clock(xml);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message());
  return c.ok() ? *c : DomainClock{};
}

TEST(ClockTargetTest, ParsesTheDomainsClockElement) {
  EXPECT_EQ(parsed("").offset, DomainClock::Offset::utc);
  EXPECT_EQ(parsed("<clock offset='utc'>\n  <timer name='rtc' tickpolicy='catchup'/>\n</clock>").offset,
            DomainClock::Offset::utc);
  const auto v = parsed("<clock offset='variable' adjustment='3600' basis='utc'/>");
  EXPECT_EQ(v.offset, DomainClock::Offset::variable);
  EXPECT_EQ(v.adjustment_s, 3600);
  EXPECT_FALSE(v.basis_localtime);
  EXPECT_TRUE(parsed("<clock offset=\"variable\" adjustment=\"-30\" basis=\"localtime\"/>").basis_localtime);
  EXPECT_EQ(parsed("<clock offset='variable' adjustment='-30' basis='localtime'/>").adjustment_s, -30);
  EXPECT_EQ(parsed("<clock offset='utc' adjustment='reset'/>").adjustment_s, 0);
  const auto z = parsed("<clock offset='timezone' timezone='Europe/Paris'/>");
  EXPECT_EQ(z.offset, DomainClock::Offset::timezone);
  EXPECT_EQ(z.timezone, "Europe/Paris");
  const auto a = parsed("<clock offset='absolute' start='1234567890'/>");
  EXPECT_EQ(a.offset, DomainClock::Offset::absolute);
  EXPECT_EQ(a.start_s, std::optional<int64_t>(1234567890));
  EXPECT_FALSE(parse_domain_clock("<clock offset='sideways'/>").ok());
  EXPECT_FALSE(parse_domain_clock("<clock offset='variable' adjustment='1h'/>").ok());
  EXPECT_FALSE(parse_domain_clock("<clock offset='variable' adjustment='1' basis='mars'/>").ok());
  EXPECT_FALSE(parse_domain_clock("<clock offset='timezone'/>").ok());
}

// A fake tz database: the host at +02:00, zones by name.
Result<int64_t> fake_offsets(const std::string& zone, int64_t) {
  if (zone.empty()) return int64_t{7200};
  if (zone == "Asia/Kolkata") return int64_t{19800};
  return make_error(errc::not_found, "no zone " + zone);
}

int64_t target_of(const std::string& xml) {
  auto t = domain_clock_target(parsed(xml), kEpoch, fake_offsets);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  if (t.ok()) {
    EXPECT_FALSE(t->relative_to_measured);
  }
  return t.ok() ? t->offset_ns : -1;
}

TEST(ClockTargetTest, DomainClockTargetForEveryOffset) {
  EXPECT_EQ(target_of("<clock offset='utc'/>"), 0);
  EXPECT_EQ(target_of("<clock offset='localtime'/>"), 7200 * kS);
  EXPECT_EQ(target_of("<clock offset='timezone' timezone='Asia/Kolkata'/>"), 19800 * kS);
  EXPECT_EQ(target_of("<clock offset='variable' adjustment='3600' basis='utc'/>"), 3600 * kS);
  EXPECT_EQ(target_of("<clock offset='variable' adjustment='3600' basis='localtime'/>"), (3600 + 7200) * kS);
  EXPECT_EQ(target_of("<clock offset='variable' adjustment='-45'/>"), -45 * kS);
  auto t = domain_clock_target(parsed("<clock offset='variable' adjustment='3600' basis='utc'/>"), kEpoch, fake_offsets);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->uncertainty_ns, 0);
  EXPECT_NE(t->source.find("adjustment=3600 basis=utc"), std::string::npos) << t->source;
  // absolute: fixed at boot; the agent cannot know it.
  auto abs = domain_clock_target(parsed("<clock offset='absolute' start='1234567890'/>"), kEpoch, fake_offsets);
  ASSERT_FALSE(abs.ok());
  EXPECT_EQ(abs.error().code, make_error_code(errc::not_supported));
  // A zone the database lacks is an error, not a guess.
  EXPECT_FALSE(domain_clock_target(parsed("<clock offset='timezone' timezone='Nowhere/Else'/>"), kEpoch, fake_offsets).ok());
}

TEST(ClockTargetTest, ContinuityTargets) {
  // Measured on the source, 2.5 s ahead; this host is 1 ms ahead of the source.
  const auto m = continuity_from_measurement(2'500'000'000, 400'000, 1'000'000, 250'000, "test");
  EXPECT_EQ(m.offset_ns, 2'499'000'000);
  EXPECT_EQ(m.uncertainty_ns, 650'000);
  EXPECT_FALSE(m.relative_to_measured);
  const auto p = continuity_from_pause(3'000'000'000, 0, "test");
  EXPECT_TRUE(p.relative_to_measured);
  EXPECT_EQ(p.offset_ns, 3'000'000'000);
  EXPECT_EQ(parse_target_mode("continuity").value_or(TargetMode::domain_clock), TargetMode::continuity);
  EXPECT_FALSE(parse_target_mode("utc").ok());
}

// The tz database read directly, against glibc's own answer (setenv is
// safe here: this test process is single-threaded while it runs).
int64_t libc_offset(const std::string& zone, int64_t t) {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  setenv("TZ", zone.c_str(), 1);
  tzset();
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  localtime_r(&tt, &tm);
  if (old) setenv("TZ", saved.c_str(), 1);
  else unsetenv("TZ");
  tzset();
  return tm.tm_gmtoff;
}

TEST(TzOffsetTest, ZoneOffsetsMatchTheCLibrary) {
  if (access("/usr/share/zoneinfo/Europe/Paris", R_OK) != 0) GTEST_SKIP() << "no tzdata";
  for (const char* zone : {"Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC",
                           "America/Sao_Paulo", "Pacific/Chatham"}) {
    for (int64_t t : {kWinter, kSummer, int64_t{946'684'800}, int64_t{2'000'000'000}, int64_t{-100'000'000}}) {
      auto off = zone_utc_offset(zone, t);
      ASSERT_TRUE(off.ok()) << zone << " " << t << ": " << off.error().message();
      EXPECT_EQ(*off, libc_offset(zone, t)) << zone << " at " << t;
    }
  }
  EXPECT_EQ(zone_utc_offset("Europe/Paris", kWinter).value_or(0), 3600);
  EXPECT_EQ(zone_utc_offset("Europe/Paris", kSummer).value_or(0), 7200);
  // Past the table of a zone without DST: the footer's fixed offset.
  EXPECT_EQ(zone_utc_offset("Asia/Kolkata", int64_t{3'000'000'000}).value_or(0), 19800);
  // Past the table of a zone with DST rules (2065): said, not guessed.
  auto far = zone_utc_offset("Europe/Paris", int64_t{3'000'000'000});
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().code, make_error_code(errc::not_supported)) << far.error().message();
}

TEST(TzOffsetTest, RefusesNamesThatAreNotZonesAndBytesThatAreNotTzif) {
  EXPECT_EQ(zone_utc_offset("../../etc/passwd", kWinter).error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(zone_utc_offset("/etc/localtime", kWinter).error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(zone_utc_offset("Nowhere/Else", kWinter).error().code, make_error_code(errc::not_found));
  EXPECT_EQ(tzif_utc_offset("not a tzif file at all, but long enough to hold a header......", kWinter).error().code,
            make_error_code(errc::malformed_input));
  std::ifstream in("/usr/share/zoneinfo/Europe/Paris", std::ios::binary);
  if (!in) GTEST_SKIP() << "no tzdata";
  std::ostringstream b;
  b << in.rdbuf();
  EXPECT_EQ(tzif_utc_offset(b.str().substr(0, 100), kWinter).error().code, make_error_code(errc::malformed_input));
}

struct Model {
  ManualTimeSource host{kEpoch, 1'000'000};
  testing::SimulatedGuest guest{host};
};

// The guest: <clock offset='variable' adjustment='3600'/>, 3 s
// behind its hour after a suspend. Against host UTC the sync would step it
// back by ~an hour (and refuse); against its domain clock it steps forward
// by the 3 s it lost.
TEST(ClockTargetModelTest, AGuestAnHourAheadByDesignLosesNoBlackoutAndIsNeverSteppedBack) {
  for (bool with_target : {false, true}) {
    Model m;
    m.guest.offset_ns = 3600 * kS - 3 * kS;
    SyncOptions o;
    o.backward = BackwardStepPolicy::refuse;
    if (with_target) {
      o.target = *domain_clock_target(parsed("<clock offset='variable' adjustment='3600' basis='utc'/>"),
                                      m.host.realtime_ns(), fake_offsets);
    }
    auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
    if (!with_target) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, make_error_code(errc::would_step_backwards));
      EXPECT_EQ(m.guest.offset_ns, 3597 * kS) << "refused: untouched";
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->target_offset_ns, 3600 * kS);
    EXPECT_EQ(r->steps.front().step_ns, 3 * kS);
    for (const auto& s : r->steps) EXPECT_GE(s.step_ns, 0) << "never back, relative to the target";
    EXPECT_EQ(m.guest.offset_ns, 3600 * kS);
    EXPECT_EQ(r->residual_ns(*r->after), 0);
  }
}

// Continuity across a suspend: the guest ran 123.456 ms ahead of its host by
// its own choice; its clock stood still for the 3 s pause.
TEST(ClockTargetModelTest, ContinuityRestoresThePrePauseOffsetFromThePause) {
  Model m;
  const int64_t own = 123'456'000;
  m.guest.offset_ns = own - 3 * kS;  // as found at resume
  SyncOptions o;
  o.target = continuity_from_pause(3 * kS, 0, "model");
  auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->target_offset_ns, own);
  // The target inherits the first measurement's asymmetry bound.
  EXPECT_EQ(r->target_uncertainty_ns, r->before->asymmetry_bound_ns);
  EXPECT_GT(r->target_uncertainty_ns, 0);
  EXPECT_EQ(m.guest.offset_ns, own);
  EXPECT_EQ(r->residual_ns(*r->after), 0);
}

// Under KVM a guest on the TSC clocksource keeps counting through a plain
// pause: it comes back at its old offset, not behind by the pause. With
// the offset its last sync left, the sync tells the two apart.
TEST(ClockTargetModelTest, AClockThatKeptRunningThroughThePauseIsNotPushedAheadByIt) {
  const int64_t own = 123'456'000;
  for (bool kept_running : {false, true}) {
    Model m;
    m.guest.offset_ns = kept_running ? own + 2'000'000 : own - 3 * kS;  // 2 ms of its own drift since
    SyncOptions o;
    o.target = continuity_from_pause(3 * kS, 0, "model");
    o.target.last_known_offset_ns = own;
    auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
    ASSERT_TRUE(r.ok()) << r.error().message();
    if (kept_running) {
      EXPECT_EQ(r->target_offset_ns, own + 2'000'000) << r->target_source;
      EXPECT_TRUE(r->steps.empty()) << "nothing lost, nothing to repair";
      EXPECT_NE(r->target_source.find("kept running"), std::string::npos) << r->target_source;
    } else {
      EXPECT_EQ(r->target_offset_ns, own) << r->target_source;
      EXPECT_EQ(m.guest.offset_ns, own);
    }
  }
}

// Continuity after a migration between hosts 2 ms apart: the source saw the
// guest 40 ms behind it before the pause; here it must end 42 ms behind.
TEST(ClockTargetModelTest, ContinuityAcrossHostsAccountsForTheirOffset) {
  Model m;
  m.guest.offset_ns = -40'000'000 - 2'000'000 - 150'000'000;  // minus the hosts' offset and a 150 ms blackout
  SyncOptions o;
  o.target = continuity_from_measurement(-40'000'000, 100'000, 2'000'000, 50'000, "model");
  auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(m.guest.offset_ns, -42'000'000);
  EXPECT_EQ(r->target_uncertainty_ns, 150'000);
}

// The backward-step policy applies relative to the target: a guest 10 ms
// ahead of its +1 h target is stepped back 10 ms only where allowed.
TEST(ClockTargetModelTest, BackwardStepsAreJudgedAgainstTheTarget) {
  for (auto policy : {BackwardStepPolicy::allow_small, BackwardStepPolicy::allow}) {
    Model m;
    m.guest.offset_ns = 3600 * kS + 10'000'000;
    SyncOptions o;
    o.backward = policy;
    o.target.offset_ns = 3600 * kS;
    auto r = sync_guest_clock(m.guest, nullptr, m.host, o);
    if (policy == BackwardStepPolicy::allow_small) {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.error().message().find("back by 10000000 ns"), std::string::npos) << r.error().message();
    } else {
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(m.guest.offset_ns, 3600 * kS);
    }
  }
}

}  // namespace
}  // namespace migclock::agent_sync
