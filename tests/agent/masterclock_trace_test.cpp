// kvm_update_master_clock events attributed to a VM by its threads: the
// parser on ftrace text, and the real tracefs with a real KVM VM run by
// this test's own thread (the event names the thread that triggered it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>

#include "migclock/agent/masterclock_trace.hpp"
#include "migclock/kvm/clock_guest.hpp"
#include "migclock/kvm/system.hpp"

namespace migclock::agent {
namespace {

const char* kTrace =
    "# tracer: nop\n"
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
    "       qemu-system-x86-4100  [001] d..1.  10.000001: kvm_update_master_clock: masterclock 0 hostclock tsc offsetmatched 0\n"
    "       qemu-system-x86-4101  [000] d..1.  10.000002: kvm_update_master_clock: masterclock 1 hostclock tsc offsetmatched 1\n"
    "            CPU 1/KVM-4200  [000] d..1.  10.000003: kvm_update_master_clock: masterclock 0 hostclock none offsetmatched 1\n"
    "       qemu-system-x86-4101  [000] d..1.  10.000004: kvm_write_tsc_offset: vcpu=0 prev=0 next=5\n";

TEST(MasterclockTrace, NewestEventOfTheVmsThreadsWins) {
  auto m = parse_masterclock_trace(kTrace, {4100, 4101});
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->masterclock);
  EXPECT_TRUE(m->offset_matched);
  EXPECT_EQ(m->host_clock, "tsc");
  EXPECT_EQ(m->tid, 4101);
  // A comm with spaces and '/' ("CPU 1/KVM") still yields its tid.
  auto other = parse_masterclock_trace(kTrace, {4200});
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(other->masterclock);
  EXPECT_EQ(other->host_clock, "none");
  EXPECT_FALSE(parse_masterclock_trace(kTrace, {999}).has_value());
  EXPECT_FALSE(parse_masterclock_trace("garbage\n- [\nkvm_update_master_clock: masterclock x\n", {1}).has_value());
}

TEST(MasterclockTrace, NotEnabledIsSaidNotGuessed) {
  const std::string dir = "/tmp/mctrace-" + std::to_string(getpid());
  std::system(("mkdir -p " + dir + "/events/kvm/kvm_update_master_clock").c_str());
  std::ofstream(dir + "/events/kvm/kvm_update_master_clock/enable") << "0\n";
  std::ofstream(dir + "/trace") << kTrace;
  auto off = read_masterclock_trace(dir, {4101});
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error().code, make_error_code(errc::not_supported));
  std::ofstream(dir + "/events/kvm/kvm_update_master_clock/enable") << "1\n";
  auto on = read_masterclock_trace(dir, {4101});
  ASSERT_TRUE(on.ok()) << on.error().message();
  EXPECT_TRUE(on->masterclock);
  auto absent = read_masterclock_trace(dir, {77});
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, make_error_code(errc::not_found));
  EXPECT_FALSE(read_masterclock_trace(dir + "/nonexistent", {1}).ok());
  std::system(("rm -rf " + dir).c_str());
}

TEST(MasterclockTrace, RealTracefsSeesThisThreadsVm) {
  const std::string tracefs = "/sys/kernel/tracing";
  const std::string enable = tracefs + "/events/kvm/kvm_update_master_clock/enable";
  std::string was;
  if (!(std::ifstream(enable) >> was)) GTEST_SKIP() << enable << " not readable (tracefs not mounted, or not root)";
  auto sys = kvm::System::open();
  if (!sys) GTEST_SKIP() << "/dev/kvm: " << sys.error().message();
  if (!(std::ofstream(enable) << "1\n")) GTEST_SKIP() << enable << " not writable (needs root)";
  // KVM re-decides the masterclock when a vCPU first runs (and at
  // KVM_SET_CLOCK), in the thread doing it: this one.
  auto guest = kvm::ClockGuest::create(*sys, 1);
  ASSERT_TRUE(guest.ok()) << guest.error().message();
  ASSERT_TRUE(guest->sample(0).ok());
  const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  auto seen = read_masterclock_trace(tracefs, thread_ids(getpid()));
  std::ofstream(enable) << was << "\n";
  ASSERT_TRUE(seen.ok()) << seen.error().message();
  EXPECT_EQ(seen->tid, self);
  // This host's KVM runs the masterclock on its TSC clocksource (probe:
  // masterclock_possible) once the vCPU has run with matched offsets.
  auto clock = guest->vm().get_clock();
  ASSERT_TRUE(clock.ok());
  EXPECT_EQ(seen->masterclock, (clock->flags & KVM_CLOCK_TSC_STABLE) != 0);
}

}  // namespace
}  // namespace migclock::agent
