// The migrate-begin decision, branch by branch.
#include <gtest/gtest.h>

#include "migclock/agent/tsc_pin.hpp"

namespace migclock::agent {
namespace {

TscPinInputs base() {
  TscPinInputs in;
  in.host_khz = 2'600'000;
  in.source_khz = 2'600'000;
  in.emit_xml = true;
  return in;
}

TEST(TscPin, SameFrequencyNoInvtscLeavesXmlAlone) {
  const auto d = decide_tsc_pin(base());
  EXPECT_EQ(d.action, TscPinAction::unchanged);
  EXPECT_FALSE(d.warning);
}

TEST(TscPin, InvtscPinsEvenAtTheSameFrequency) {
  auto in = base();
  in.guest_invtsc = true;
  const auto d = decide_tsc_pin(in);
  EXPECT_EQ(d.action, TscPinAction::pin);
  EXPECT_EQ(d.frequency_hz, 2'600'000'000u);
}

TEST(TscPin, WithinToleranceIsPinnedToTheSource) {
  auto in = base();
  in.source_khz = 2'600'000 + 2'600'000 / 10'000;  // +100 ppm
  const auto d = decide_tsc_pin(in);
  EXPECT_EQ(d.action, TscPinAction::pin);
  EXPECT_EQ(d.frequency_hz, uint64_t{2'600'260} * 1000);
}

TEST(TscPin, BeyondToleranceWithoutScalingLenientWarns) {
  auto in = base();
  in.source_khz = 2'000'000;
  const auto d = decide_tsc_pin(in);
  EXPECT_EQ(d.action, TscPinAction::unchanged);
  EXPECT_TRUE(d.warning);
  EXPECT_NE(d.message.find("2000000 kHz"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("2600000 kHz"), std::string::npos) << d.message;
}

TEST(TscPin, BeyondToleranceWithoutScalingStrictRefusesNamingBoth) {
  auto in = base();
  in.source_khz = 2'000'000;
  in.policy = TscPinPolicy::strict;
  const auto d = decide_tsc_pin(in);
  EXPECT_EQ(d.action, TscPinAction::refuse);
  EXPECT_NE(d.message.find("2000000 kHz"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("2600000 kHz"), std::string::npos) << d.message;
}

TEST(TscPin, ScalingHostHonoursAnyFrequency) {
  auto in = base();
  in.source_khz = 2'000'000;
  in.host_scaling = true;
  const auto d = decide_tsc_pin(in);
  EXPECT_EQ(d.action, TscPinAction::pin);
  EXPECT_EQ(d.frequency_hz, 2'000'000'000u);
}

TEST(TscPin, ExactToleranceEdgeIsHonoured) {
  auto in = base();
  in.source_khz = 2'600'000 + 650;  // exactly 250 ppm
  EXPECT_EQ(decide_tsc_pin(in).action, TscPinAction::pin);
  in.source_khz = 2'600'000 + 651;
  EXPECT_EQ(decide_tsc_pin(in).action, TscPinAction::unchanged);
}

TEST(TscPin, AlreadyPinnedToTheSourceIsUnchanged) {
  auto in = base();
  in.guest_invtsc = true;
  in.pinned_hz = 2'600'000'000u;
  const auto d = decide_tsc_pin(in);
  EXPECT_EQ(d.action, TscPinAction::unchanged);
  EXPECT_FALSE(d.warning);
}

TEST(TscPin, WithoutXmlEmissionANeededPinIsACannotHonour) {
  auto in = base();
  in.emit_xml = false;
  in.guest_invtsc = true;
  auto d = decide_tsc_pin(in);
  EXPECT_EQ(d.action, TscPinAction::unchanged);
  EXPECT_TRUE(d.warning);
  EXPECT_NE(d.message.find("libvirt rejects a changed <timer>"), std::string::npos) << d.message;
  in.policy = TscPinPolicy::strict;
  EXPECT_EQ(decide_tsc_pin(in).action, TscPinAction::refuse);
  // Nothing needed: nothing to refuse.
  in.guest_invtsc = false;
  EXPECT_EQ(decide_tsc_pin(in).action, TscPinAction::unchanged);
  EXPECT_FALSE(decide_tsc_pin(in).warning);
}

TEST(TscPin, UnknownSourceFollowsPolicy) {
  auto in = base();
  in.source_khz.reset();
  EXPECT_EQ(decide_tsc_pin(in).action, TscPinAction::unchanged);
  EXPECT_TRUE(decide_tsc_pin(in).warning);
  in.policy = TscPinPolicy::strict;
  EXPECT_EQ(decide_tsc_pin(in).action, TscPinAction::refuse);
}

}  // namespace
}  // namespace migclock::agent
