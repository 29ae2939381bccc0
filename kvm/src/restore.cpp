#include "migclock/kvm/restore.hpp"

#include <algorithm>
#include <cerrno>

#include "migclock/kvm/msr.hpp"

namespace migclock::kvm {
namespace {

Error for_vcpu(size_t vcpu, const Error& e) { return Error{e.code, "vcpu " + std::to_string(vcpu) + ": " + e.context}; }

Status restore_msrs(ClockTarget& target, const snapshot::Snapshot& snap, ClockMode mode) {
  for (size_t i = 0; i < snap.vcpus.size(); ++i) {
    const snapshot::VcpuClock& c = snap.vcpus[i];
    const auto by_value = by_value_msr_values(c);
    uint32_t indices[5];
    uint64_t values[5];
    size_t count = 0;
    for (size_t k = 0; k < kByValueMsrs.size(); ++k, ++count) {
      indices[count] = kByValueMsrs[k];
      values[count] = by_value[k];
    }
    if (mode == ClockMode::by_value) {  // QEMU's way: the guest TSC as it was
      indices[count] = msr::kIa32Tsc;
      values[count++] = c.msr_tsc;
    }
    auto r = target.set_msrs(i, indices, values, count);
    if (!r) return for_vcpu(i, r.error());
  }
  return {};
}

Status restore_offsets(ClockTarget& target, const snapshot::Snapshot& snap, RestoreOutcome& out) {
  std::vector<TscScale> scale(snap.vcpus.size());
  for (size_t i = 0; i < scale.size(); ++i) {
    auto s = target.vcpu_scale(i);
    if (!s) return for_vcpu(i, s.error());
    scale[i] = *s;
  }
  out.offsets_from_exact_tsc = true;
  for (size_t i = 0; i < snap.vcpus.size(); ++i) out.offsets_from_exact_tsc &= source_guest_tsc(snap, i).exact;
  out.offsets_written = plan_tsc_offsets(snap, out.clock_after_set, scale);
  for (size_t i = 0; i < out.offsets_written.size(); ++i) {
    auto r = target.set_tsc_offset(i, out.offsets_written[i]);
    if (!r) return for_vcpu(i, r.error());
  }
  return {};
}

}  // namespace

Result<bool> prepare_destination_vm(const System& sys, const Vm& vm, const snapshot::Snapshot& snap,
                                    const RestorePolicy& policy) {
  if (snap.vcpus.empty() || snap.vcpus[0].tsc_khz == 0) return false;
  auto khz = vm.get_tsc_khz();
  if (!khz) return khz.error();
  const uint32_t want = snap.vcpus[0].tsc_khz;
  const uint64_t diff = want > *khz ? want - *khz : *khz - want;
  if (diff * 1'000'000 <= static_cast<uint64_t>(policy.tsc_tolerance_ppm) * *khz) return false;
  if (sys.check_extension(Capability::vm_tsc_control).value_or(0) <= 0) return false;  // admission decides
  MIGCLOCK_TRY(vm.set_tsc_khz(want));
  return true;
}

Result<RestoreOutcome> restore(ClockTarget& target, const snapshot::Snapshot& snap, const RestorePolicy& policy,
                               const TimeSource& time) {
  RestoreOutcome out;
  out.mode = policy.mode;

  DestinationFacts dst;
  dst.vcpus = static_cast<uint32_t>(target.vcpu_count());
  dst.scaling_supported = target.scaling_supported();
  auto khz = target.tsc_khz();
  if (!khz) return khz.error();
  dst.tsc_khz = *khz;
  auto before = target.get_clock();
  if (!before) return before.error();
  out.clock_before_ns = before->clock;
  dst.current_clock_ns = target.guest_has_run() ? before->clock : 0;
  dst.realtime_now_ns = time.realtime_ns();
  auto admission = admit(snap, dst, policy);
  if (!admission) return admission.error();
  out.admission = *admission;

  if (out.admission.set_tsc_khz) {
    for (size_t i = 0; i < snap.vcpus.size(); ++i) {
      auto r = target.set_vcpu_tsc_khz(i, out.admission.tsc_khz);
      if (!r) return for_vcpu(i, r.error());
    }
  }
  out.msr_write_host_tsc_before = target.host_tsc_now();
  MIGCLOCK_TRY(restore_msrs(target, snap, policy.mode));
  out.msr_write_host_tsc_after = target.host_tsc_now();
  MIGCLOCK_TRY(target.set_clock(out.admission.clock));

  auto after = target.get_clock();
  if (!after) return after.error();
  out.clock_after_set_has_host_tsc = after->flags & KVM_CLOCK_HOST_TSC;
  out.clock_after_set = {after->clock, out.clock_after_set_has_host_tsc ? after->host_tsc : target.host_tsc_now()};
  out.elapsed_ns = static_cast<int64_t>(after->clock - snap.clock.clock_ns);
  if (policy.mode == ClockMode::precise && !out.clock_after_set_has_host_tsc) {
    // The offsets are then relative to a host TSC read a few µs after the
    // clock, not at the same instant: say so.
    out.admission.degraded = true;
    if (!out.admission.degraded_reason.empty()) out.admission.degraded_reason += "; ";
    out.admission.degraded_reason += "destination KVM_GET_CLOCK has no KVM_CLOCK_HOST_TSC: host TSC read by rdtsc";
  }
  if (policy.mode == ClockMode::precise) MIGCLOCK_TRY(restore_offsets(target, snap, out));

  if (snap.pit.present && target.has_pit()) {
    // The blackout as the wall clock saw it (either mode).
    const int64_t blackout =
        std::max<int64_t>(0, dst.realtime_now_ns - source_realtime_here(snap, policy, /*clock_tuple=*/false));
    out.pit_written =
        rebase_pit(snap.pit, snap.captured.monotonic_raw_ns, target.monotonic_now_ns(), blackout, policy.pit);
    MIGCLOCK_TRY(target.set_pit(out.pit_written));
    out.pit_restored = true;
  }

  for (size_t i = 0; i < snap.vcpus.size(); ++i) {
    auto r = target.kvmclock_ctrl(i);
    if (r.ok())
      ++out.kvmclock_ctrl_ok;
    else if (r.error().code == std::errc::invalid_argument)
      ++out.kvmclock_ctrl_einval;  // the guest has not enabled kvmclock
    else
      return for_vcpu(i, r.error());
  }
  return out;
}

}  // namespace migclock::kvm
