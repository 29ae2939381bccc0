#include "migclock/kvm/capture.hpp"

#include <unistd.h>


#include "migclock/kvm/debugfs.hpp"
#include "migclock/kvm/host_facts.hpp"
#include "migclock/kvm/msr.hpp"

namespace migclock::kvm {
namespace {

Error for_vcpu(uint32_t id, const Error& e) { return Error{e.code, "vcpu " + std::to_string(id) + ": " + e.context}; }

// KVM's PIT keeps count_load_time on the host's CLOCK_MONOTONIC, which
// means nothing on another host. The snapshot carries it on its own
// captured.monotonic_raw_ns timeline instead: captured.monotonic_raw_ns -
// count_load_time is the exact time since the count was loaded.
snapshot::PitState pit_from_kernel(const kvm_pit_state2& k, int64_t mono_now, int64_t raw_ref) {
  snapshot::PitState pit;
  pit.present = true;
  pit.flags = k.flags;
  for (size_t i = 0; i < 3; ++i) {
    const kvm_pit_channel_state& c = k.channels[i];
    snapshot::PitChannel& p = pit.channels[i];
    p.count = c.count;
    p.latched_count = c.latched_count;
    p.count_latched = c.count_latched;
    p.status_latched = c.status_latched;
    p.status = c.status;
    p.read_state = c.read_state;
    p.write_state = c.write_state;
    p.write_latch = c.write_latch;
    p.rw_mode = c.rw_mode;
    p.mode = c.mode;
    p.bcd = c.bcd;
    p.gate = c.gate;
    p.count_load_time = raw_ref - (mono_now - c.count_load_time);
  }
  return pit;
}

void read_scaling(const CaptureContext& ctx, int vm_fd, snapshot::Snapshot& s) {
  auto vms = read_vm_debugfs(::getpid(), ctx.debugfs_root);
  if (!vms) return;
  for (const VmDebugfs& vm : *vms) {
    if (vm.vm_fd != vm_fd) continue;
    for (const VcpuDebugfs& v : vm.vcpus) {
      if (v.id >= s.vcpus.size() || !v.tsc_scaling_ratio || !v.tsc_scaling_frac_bits) continue;
      s.vcpus[v.id].tsc_scaling_ratio = *v.tsc_scaling_ratio;
      s.vcpus[v.id].tsc_scaling_frac_bits = *v.tsc_scaling_frac_bits;
    }
  }
}

}  // namespace

Result<snapshot::Snapshot> capture(const Vm& vm, const std::vector<Vcpu>& vcpus, const CaptureContext& ctx) {
  snapshot::Snapshot s;
  s.vm = ctx.vm;
  s.host = ctx.host;
  s.source = snapshot::CaptureSource::owned_vmm;
  s.software_version = MIGCLOCK_VERSION;

  // The reference instant: everything else is read right after it.
  auto clock = vm.get_clock();
  if (!clock) return clock.error();
  s.clock.clock_ns = clock->clock;
  s.clock.flags = clock->flags;
  // Only what the flags vouch for: the rest is stale kernel memory.
  s.clock.realtime_ns = (clock->flags & KVM_CLOCK_REALTIME) ? clock->realtime : 0;
  s.clock.host_tsc = (clock->flags & KVM_CLOCK_HOST_TSC) ? clock->host_tsc : 0;
  s.captured.realtime_ns = ctx.time->realtime_ns();
  s.captured.monotonic_raw_ns = ctx.time->monotonic_raw_ns();
  s.masterclock.evidence = snapshot::MasterclockEvidence::clock_flags;
  s.masterclock.state =
      s.clock.tsc_stable() ? snapshot::MasterclockState::active : snapshot::MasterclockState::inactive;

  auto vm_khz = vm.get_tsc_khz();
  if (!vm_khz) return vm_khz.error();

  s.vcpus.resize(vcpus.size());
  for (size_t i = 0; i < vcpus.size(); ++i) {
    const Vcpu& vcpu = vcpus[i];
    snapshot::VcpuClock& c = s.vcpus[i];
    c.id = vcpu.id();
    uint64_t values[msr::kClockMsrs.size()];
    auto msrs = vcpu.get_msrs(msr::kClockMsrs.data(), values, msr::kClockMsrs.size());
    if (!msrs) return for_vcpu(c.id, msrs.error());
    c.msr_tsc = values[0];
    c.msr_tsc_adjust = values[1];
    c.msr_kvm_system_time = values[2];
    c.msr_kvm_wall_clock = values[3];
    c.msr_kvm_steal_time = values[4];
    auto offset = vcpu.get_tsc_offset();
    c.tsc_offset_valid = offset.ok();
    c.tsc_offset = offset.value_or(0);
    c.tsc_khz = *vm_khz;
    if (ctx.per_vcpu_tsc_khz) {
      auto khz = vcpu.get_tsc_khz();
      if (!khz) return for_vcpu(c.id, khz.error());
      c.tsc_khz = *khz;
    }
  }
  if (ctx.host.scaling_supported) read_scaling(ctx, vm.fd(), s);

  auto pit = vm.get_pit2();
  if (pit.ok()) {
    s.pit = pit_from_kernel(*pit, clock_monotonic_ns(), s.captured.monotonic_raw_ns);
  } else if (pit.error().code != std::errc::no_such_device_or_address) {
    return pit.error();  // ENXIO: the VM has no PIT, which is fine
  }
  return s;
}

}  // namespace migclock::kvm
