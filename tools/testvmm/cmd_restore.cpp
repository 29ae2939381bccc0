// restore: a new VM in this process, restore, resume, let the guest read
// its clocks, print the continuity report.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "agent_link.hpp"
#include "args.hpp"
#include "commands.hpp"
#include "migclock/kvm/clock_guest.hpp"
#include "migclock/kvm/host_facts.hpp"
#include "migclock/kvm/restore.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "report.hpp"

namespace migclock::testvmm {
namespace {

const char* kUsage =
    "usage: migclock-testvmm restore (--in FILE | --agent SOCKET --vm VM) [--mode precise|by-value]\n"
    "                                [--pit advance|freeze] [--vcpus N] [--force] [--tolerance-ns NS]\n"
    "                                [--realtime-offset-ns NS] [--json]\n"
    "\n"
    "Creates a new VM (this process), restores the snapshot FILE onto it, resumes\n"
    "the guest and reports what its first clock reads show.\n"
    "  --agent SOCKET --vm VM\n"
    "                 ask the local migclock-agent for VM's restore inputs instead\n"
    "                 (GET /api/v1/vmm/restore-inputs): the snapshot and this\n"
    "                 host's realtime minus the source's, as the controller measured;\n"
    "                 waits up to --wait-s S (default 10) for the snapshot to arrive\n"
    "  --realtime-offset-ns NS\n"
    "                 this host's realtime minus the source host's (with --in;\n"
    "                 default 0, one host)\n"
    "  --mode         precise (default; KVM_CLOCK_REALTIME + recomputed TSC offsets)\n"
    "                 or by-value (as QEMU: kvmclock and MSR_IA32_TSC by value)\n"
    "  --pit          advance (default; PIT counts through the blackout) or freeze\n"
    "  --vcpus N      destination vCPUs (default: the snapshot's; a mismatch is refused)\n"
    "  --force        restore even when the snapshot's realtime is in the future\n"
    "  --future-tolerance-ns NS\n"
    "                 how far the snapshot's realtime may be ahead of this host's\n"
    "                 before it is refused (default 100000000 = 100 ms)\n"
    "  --tolerance-ns largest |kvmclock error| that still counts as continuous in\n"
    "                 precise mode (default 1000000)\n"
    "exit status: 0 ok, 1 error, 3 refused, 4 continuity violated\n";

int fail(const Error& e, int status = kExitError) {
  std::fprintf(stderr, "migclock-testvmm restore: %s\n", e.message().c_str());
  return status;
}

bool is_refusal(const Error& e) {
  return e.code == errc::vcpu_count_mismatch || e.code == errc::tsc_frequency_mismatch ||
         e.code == errc::realtime_in_future || e.code == errc::would_step_backwards ||
         e.code == errc::validation_failed;
}

// The guest's first reads after resume, one per vCPU, each bracketed by
// KVM_GET_CLOCK. The ideal for a read g is the snapshot's kvmclock plus the
// realtime elapsed until g; realtime at g comes from the kernel's own
// (clock, realtime) pair taken just after it: realtime_after - (clock_after - g).
Result<std::vector<VcpuReading>> read_after_resume(const kvm::ClockGuest& guest, const snapshot::Snapshot& snap,
                                                    const kvm::RestorePolicy& policy, int64_t& blackout_ns) {
  // The source's instant on this host's clock (the measured host offset applied).
  const int64_t src_realtime = kvm::source_realtime_here(snap, policy, snap.clock.realtime_valid());
  std::vector<VcpuReading> readings;
  for (uint32_t i = 0; i < guest.vcpus().size(); ++i) {
    auto before = guest.vm().get_clock();
    if (!before) return before.error();
    const int64_t host_before = SystemTimeSource::instance().realtime_ns();
    auto s = guest.sample(i);
    const int64_t host_after = SystemTimeSource::instance().realtime_ns();
    if (!s) return s.error();
    auto after = guest.vm().get_clock();
    if (!after) return after.error();
    const int64_t realtime_after = (after->flags & KVM_CLOCK_REALTIME)
                                       ? static_cast<int64_t>(after->realtime)
                                       : SystemTimeSource::instance().realtime_ns();
    const int64_t realtime_at_read = realtime_after - static_cast<int64_t>(after->clock - s->kvmclock_ns);
    const int64_t ideal = static_cast<int64_t>(snap.clock.clock_ns) + (realtime_at_read - src_realtime);
    VcpuReading r;
    r.vcpu = i;
    r.guest_kvmclock_ns = s->kvmclock_ns;
    r.guest_tsc = s->guest_tsc;
    r.kvmclock_error_ns = static_cast<int64_t>(s->kvmclock_ns) - ideal;
    const int64_t at_pause = static_cast<int64_t>(snap.clock.clock_ns) - src_realtime;
    r.kvmclock_error_min_ns = static_cast<int64_t>(s->kvmclock_ns) - (at_pause + host_after);
    r.kvmclock_error_max_ns = static_cast<int64_t>(s->kvmclock_ns) - (at_pause + host_before);
    r.in_bracket = before->clock <= s->kvmclock_ns && s->kvmclock_ns <= after->clock;
    if (i == 0) blackout_ns = realtime_at_read - src_realtime;
    readings.push_back(r);
  }
  return readings;
}

void judge(ContinuityReport& r, const snapshot::Snapshot& snap, int64_t tolerance_ns, bool precise) {
  auto violate = [&r](std::string what) {
    r.continuity_violated = true;
    r.violations.push_back(std::move(what));
  };
  if (r.stepped_back) violate("kvmclock stepped backwards");
  if (!r.clock_msrs_hold) violate("kvmclock MSRs did not read back as written");
  if (r.pit_restored && !r.pit_state_holds) violate("PIT modes/counts/gates did not read back as written");
  for (const auto& g : r.readings) {
    if (!g.in_bracket) violate("vcpu " + std::to_string(g.vcpu) + ": guest kvmclock outside the KVM_GET_CLOCK bracket");
    if (g.guest_kvmclock_ns < snap.clock.clock_ns) violate("vcpu " + std::to_string(g.vcpu) + ": guest read before the pause value");
    if (precise && std::llabs(g.kvmclock_error_ns) > tolerance_ns)
      violate("vcpu " + std::to_string(g.vcpu) + ": |kvmclock error| " + std::to_string(g.kvmclock_error_ns) +
              " ns > " + std::to_string(tolerance_ns));
  }
  if (precise && r.tsc_honoured) {
    const int64_t tolerance_cycles = kvm::ns_to_cycles(tolerance_ns, snap.vcpus[0].tsc_khz);
    if (r.tsc_error_cycles && std::llabs(*r.tsc_error_cycles) > tolerance_cycles)
      violate("|TSC error| " + std::to_string(*r.tsc_error_cycles) + " cycles");
    if (!r.offsets_matched) violate("TSC offsets that matched on the source no longer match");
  }
}

}  // namespace

int cmd_restore(int argc, char** argv) {
  Args args(argc, argv, {"json", "help", "force"},
            {"in", "mode", "pit", "vcpus", "tolerance-ns", "capture-us", "pause-ms", "agent", "vm",
             "realtime-offset-ns", "wait-s", "future-tolerance-ns"});
  if (args.flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  kvm::RestorePolicy policy;
  auto mode = kvm::parse_clock_mode(args.str("mode", "precise"));
  if (!mode) return fail(mode.error(), kExitUsage);
  policy.mode = *mode;
  const std::string pit = args.str("pit", "advance");
  if (pit != "advance" && pit != "freeze") return fail(make_error(errc::invalid_argument, "--pit " + pit), kExitUsage);
  policy.pit = pit == "advance" ? kvm::PitPolicy::advance : kvm::PitPolicy::freeze;
  policy.force_future = args.flag("force");
  policy.future_tolerance_ns = args.integer("future-tolerance-ns", policy.future_tolerance_ns, 0, INT64_MAX / 2);
  const int64_t tolerance_ns = args.integer("tolerance-ns", 1'000'000, 0, INT64_MAX);

  Result<snapshot::Snapshot> snap = make_error(errc::invalid_argument, "no snapshot");
  ContinuityReport report;
  if (args.has("agent")) {
    if (args.has("in") || args.has("realtime-offset-ns"))
      return fail(make_error(errc::invalid_argument, "--agent takes the snapshot and the offset from the agent: "
                                                     "not with --in or --realtime-offset-ns"),
                  kExitUsage);
    // The source's snapshot may still be on its way through the controller.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.integer("wait-s", 10, 0, 600));
    auto inputs = fetch_restore_inputs(args.str("agent"), args.require("vm"));
    // 404: no snapshot yet; 409: a host's clock offset not measured yet.
    auto not_yet = [&] {
      return !inputs && (inputs.error().code == errc::not_found || inputs.error().code == errc::conflict);
    };
    while (not_yet() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      inputs = fetch_restore_inputs(args.str("agent"), args.require("vm"));
    }
    if (!inputs) return fail(inputs.error(), inputs.error().code == errc::validation_failed ? kExitRefused : kExitError);
    policy.realtime_offset_ns = inputs->realtime_offset_ns;
    report.realtime_offset = OffsetInputs{inputs->realtime_offset_ns, inputs->uncertainty_ns, inputs->evidence};
    snap = std::move(inputs->snapshot);
  } else {
    policy.realtime_offset_ns = args.integer("realtime-offset-ns", 0, INT64_MIN / 2, INT64_MAX / 2);
    if (args.has("realtime-offset-ns"))
      report.realtime_offset = OffsetInputs{policy.realtime_offset_ns, -1, "--realtime-offset-ns"};
    snap = serialization::load_file(args.require("in"));
    if (!snap) return fail(snap.error(), snap.error().code == errc::validation_failed ? kExitRefused : kExitError);
  }
  const auto vcpus = static_cast<uint32_t>(
      args.integer("vcpus", static_cast<int64_t>(snap->vcpus.size()), 1, kvm::ClockGuest::kMaxVcpus));

  auto sys = kvm::System::open();
  if (!sys) return fail(sys.error());
  const bool scaling = sys->check_extension(kvm::Capability::tsc_control).value_or(0) > 0;
  auto guest = kvm::ClockGuest::create(*sys, vcpus, kvm::ClockGuest::Entry::resume, [&](const kvm::Vm& vm) -> Status {
    auto set = kvm::prepare_destination_vm(*sys, vm, *snap, policy);
    if (!set) return set.error();
    return {};
  });
  if (!guest) return fail(guest.error());

  kvm::KvmClockTarget target(guest->vm(), guest->vcpus(), scaling, /*has_pit=*/true);
  const auto t0 = std::chrono::steady_clock::now();
  auto outcome = kvm::restore(target, *snap, policy, SystemTimeSource::instance());
  const auto t1 = std::chrono::steady_clock::now();
  if (!outcome) return fail(outcome.error(), is_refusal(outcome.error()) ? kExitRefused : kExitError);
  auto verification = kvm::verify(target, *snap, *outcome);
  if (!verification) return fail(verification.error());

  report.mode = kvm::clock_mode_name(policy.mode);
  report.vcpus = vcpus;
  report.pause_ms = args.integer("pause-ms", 0, 0, INT64_MAX);
  if (args.has("capture-us")) report.capture_us = args.integer("capture-us", 0, 0, INT64_MAX);
  report.restore_us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
  report.degraded = outcome->admission.degraded;
  report.degraded_reason = outcome->admission.degraded_reason;
  report.kvmclock_ctrl_einval = outcome->kvmclock_ctrl_einval;
  report.pit_restored = outcome->pit_restored;
  report.pit_state_holds = verification->pit_state_holds;
  report.pit_load_times_hold = verification->pit_load_times_hold;
  if (outcome->kvmclock_ctrl_einval)
    std::fprintf(stderr, "migclock-testvmm restore: KVM_KVMCLOCK_CTRL: EINVAL on %u vCPU(s) (guest without kvmclock)\n",
                 outcome->kvmclock_ctrl_einval);
  report.offsets = verification->offsets;
  report.offsets_matched = verification->offsets_matched;
  report.clock_msrs_hold = verification->msrs_hold;
  report.tsc_honoured = verification->offsets_honoured;

  // Resume: the guest's first reads.
  auto readings = read_after_resume(*guest, *snap, policy, report.blackout_ns);
  if (!readings) return fail(readings.error());
  report.readings = *readings;
  report.kvmclock_error_ns = report.readings.at(0).kvmclock_error_ns;
  auto final_clock = guest->vm().get_clock();
  if (!final_clock) return fail(final_clock.error());
  report.tsc_stable = final_clock->flags & KVM_CLOCK_TSC_STABLE;
  report.stepped_back = verification->stepped_back;
  for (const auto& g : report.readings)
    if (g.guest_kvmclock_ns < snap->clock.clock_ns) report.stepped_back = true;
  if (report.tsc_honoured) {
    // Ideal guest TSC at the read: its source value advanced by the realtime blackout.
    const auto src = kvm::source_guest_tsc(*snap, 0);
    const uint64_t ideal = src.guest_tsc + static_cast<uint64_t>(kvm::ns_to_cycles(report.blackout_ns, snap->vcpus[0].tsc_khz));
    report.tsc_error_cycles = static_cast<int64_t>(report.readings[0].guest_tsc - ideal);
  }
  judge(report, *snap, tolerance_ns, policy.mode == kvm::ClockMode::precise);

  std::printf("%s\n", args.flag("json") ? to_json(report).c_str() : to_text(report).c_str());
  return report.continuity_violated ? kExitViolated : kExitOk;
}

}  // namespace migclock::testvmm
