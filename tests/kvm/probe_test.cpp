// The host probe and the read-only debugfs view, on the real /dev/kvm.
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>

#include "kvm_test_support.hpp"
#include "migclock/kvm/clock_guest.hpp"
#include "migclock/kvm/debugfs.hpp"
#include "migclock/kvm/probe.hpp"

namespace migclock::kvm {
namespace {

TEST(ProbeTest, ReportsCapabilitiesTheSystemReports) {
  MIGCLOCK_REQUIRE_KVM(sys);
  auto report = probe_host(sys);
  ASSERT_OK(report);
  EXPECT_EQ(report->api_version, KVM_API_VERSION);
  EXPECT_EQ(report->adjust_clock_flags, static_cast<uint32_t>(*sys.check_extension(Capability::adjust_clock)));
  EXPECT_EQ(report->kvmclock_ctrl, *sys.check_extension(Capability::kvmclock_ctrl) > 0);
  EXPECT_EQ(report->scaling_supported, *sys.check_extension(Capability::tsc_control) > 0);
  EXPECT_GT(report->host_khz, 100'000u);
  EXPECT_FALSE(report->clocksource.empty());
  EXPECT_EQ(report->masterclock_possible,
            report->clocksource == "tsc" && (report->clock_flags_after_run & KVM_CLOCK_TSC_STABLE));
}

TEST(ProbeTest, OffsetVerdictMatchesWhatTheGuestSaw) {
  MIGCLOCK_REQUIRE_KVM(sys);
  auto report = probe_host(sys);
  ASSERT_OK(report);
  const OffsetProbe& o = report->offset;
  if (!o.attempted) GTEST_SKIP() << o.not_attempted_reason;
  EXPECT_EQ(o.written - o.original, 1ull << 40);
  EXPECT_EQ(o.honoured(), o.read_back_matches && o.guest_follows);
  // The guest's rdtsc lands either near the written offset (honoured) or
  // near the original one (ignored) - within 2^39 cycles either way.
  uint64_t in_effect = o.guest_follows ? o.written : o.original;
  int64_t distance = o.guest_minus_host_cycles - static_cast<int64_t>(in_effect);
  EXPECT_LT(std::llabs(distance), 1ll << 39) << "guest_minus_host " << o.guest_minus_host_cycles;
  if (!o.read_back_matches) {
    EXPECT_NE(o.read_back, o.written);
  }
}

#ifdef MIGCLOCK_CLI
TEST(ProbeTest, CliJsonCarriesTheIssueKeys) {
  MIGCLOCK_REQUIRE_KVM(sys);
  const auto [status, out] = testing::run_command(MIGCLOCK_CLI " probe --json");
  ASSERT_EQ(status, 0) << out;
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(out.c_str()).HasParseError()) << out;
  EXPECT_EQ(doc["api_version"].GetInt(), KVM_API_VERSION);
  EXPECT_TRUE(doc["adjust_clock_flags"].IsUint());
  EXPECT_TRUE(doc["host_khz"].IsUint());
  EXPECT_TRUE(doc["scaling_supported"].IsBool());
  EXPECT_TRUE(doc["offset_honoured"].IsBool());
  EXPECT_TRUE(doc["clocksource"].IsString());
  EXPECT_TRUE(doc["masterclock_possible"].IsBool());
  auto report = probe_host(sys);
  ASSERT_OK(report);
  EXPECT_EQ(doc["offset_honoured"].GetBool(), report->offset.honoured());
  EXPECT_EQ(doc["host_khz"].GetUint(), report->host_khz);
}
#endif

TEST(DebugfsTest, ShowsThisProcesssVmAndItsOffsets) {
  MIGCLOCK_REQUIRE_KVM(sys);
  auto guest = ClockGuest::create(sys, 2);
  ASSERT_OK(guest);
  auto vms = read_vm_debugfs(::getpid());
  if (!vms && vms.error().code == errc::unavailable) GTEST_SKIP() << vms.error().message();
  ASSERT_OK(vms);
  const VmDebugfs* mine = nullptr;
  for (const auto& vm : *vms)
    if (vm.vm_fd == guest->vm().fd()) mine = &vm;
  ASSERT_NE(mine, nullptr) << "no debugfs dir for vm fd " << guest->vm().fd();
  ASSERT_EQ(mine->vcpus.size(), 2u);
  for (uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(mine->vcpus[i].id, i);
    ASSERT_TRUE(mine->vcpus[i].tsc_offset.has_value());
    auto offset = guest->vcpus()[i].get_tsc_offset();
    ASSERT_OK(offset);
    EXPECT_EQ(static_cast<uint64_t>(*mine->vcpus[i].tsc_offset), *offset);
  }
}

TEST(DebugfsTest, UnmountedRootIsAClearError) {
  auto vms = read_vm_debugfs(::getpid(), "/nonexistent/debug/kvm");
  ASSERT_FALSE(vms.ok());
  EXPECT_EQ(vms.error().code, errc::unavailable);
  EXPECT_NE(vms.error().message().find("not mounted"), std::string::npos) << vms.error().message();
}

TEST(DebugfsTest, PidWithoutVmIsNotFound) {
  auto vms = read_vm_debugfs(1);  // init owns no VM
  if (!vms && vms.error().code == errc::unavailable) GTEST_SKIP() << vms.error().message();
  ASSERT_FALSE(vms.ok());
  EXPECT_EQ(vms.error().code, errc::not_found);
}

#ifdef MIGCLOCK_CLI
TEST(DebugfsTest, CliListsThisProcesssVm) {
  MIGCLOCK_REQUIRE_KVM(sys);
  auto guest = ClockGuest::create(sys, 1);
  ASSERT_OK(guest);
  if (auto vms = read_vm_debugfs(::getpid()); !vms && vms.error().code == errc::unavailable)
    GTEST_SKIP() << vms.error().message();
  const std::string cmd = std::string(MIGCLOCK_CLI) + " debugfs --json --pid " + std::to_string(::getpid());
  const auto [status, out] = testing::run_command(cmd);
  ASSERT_EQ(status, 0) << out;
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(out.c_str()).HasParseError()) << out;
  bool found = false;
  for (const auto& vm : doc["vms"].GetArray()) {
    if (vm["vm_fd"].GetInt() != guest->vm().fd()) continue;
    found = true;
    ASSERT_EQ(vm["vcpus"].Size(), 1u);
    EXPECT_TRUE(vm["vcpus"][0]["tsc_offset"].IsInt64());
    EXPECT_TRUE(vm["vcpus"][0]["tsc_scaling_ratio"].IsNull() || vm["vcpus"][0]["tsc_scaling_ratio"].IsUint64());
  }
  EXPECT_TRUE(found) << out;
}

TEST(DebugfsTest, CliRefusesMissingPid) {
  const auto [status, out] = testing::run_command(MIGCLOCK_CLI " debugfs 2>&1");
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("--pid is required"), std::string::npos) << out;
}
#endif

}  // namespace
}  // namespace migclock::kvm
