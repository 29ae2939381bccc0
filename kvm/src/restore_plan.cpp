#include "migclock/kvm/restore_plan.hpp"

#include <cstdio>
#include <string>

#include "migclock/kvm/msr.hpp"

namespace migclock::kvm {

static_assert(kByValueMsrs[0] == msr::kKvmSystemTimeNew && kByValueMsrs[1] == msr::kKvmWallClockNew &&
              kByValueMsrs[2] == msr::kKvmStealTime && kByValueMsrs[3] == msr::kIa32TscAdjust);

uint64_t scale_tsc(uint64_t host_tsc, TscScale scale) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(host_tsc) * scale.ratio) >> scale.frac_bits);
}

uint64_t guest_tsc_at(uint64_t host_tsc, TscScale scale, uint64_t offset) { return scale_tsc(host_tsc, scale) + offset; }

int64_t ns_to_cycles(int64_t ns, uint32_t khz) {
  return static_cast<int64_t>(static_cast<__int128>(ns) * khz / 1'000'000);
}

const char* clock_mode_name(ClockMode mode) { return mode == ClockMode::precise ? "precise" : "by-value"; }

Result<ClockMode> parse_clock_mode(const std::string& name) {
  if (name == "precise") return ClockMode::precise;
  if (name == "by-value") return ClockMode::by_value;
  return make_error(errc::invalid_argument, "mode '" + name + "' (expected precise or by-value)");
}

namespace {

Status check_tsc_rate(uint32_t guest_khz, const DestinationFacts& dst, const RestorePolicy& policy, Admission& a) {
  a.tsc_khz = guest_khz;
  uint64_t diff = guest_khz > dst.tsc_khz ? guest_khz - dst.tsc_khz : dst.tsc_khz - guest_khz;
  if (diff * 1'000'000 <= static_cast<uint64_t>(policy.tsc_tolerance_ppm) * dst.tsc_khz) return {};
  if (dst.scaling_supported) {
    a.set_tsc_khz = true;
    return {};
  }
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "guest TSC %u kHz vs destination %u kHz differs by %.0f ppm (> %u) and this host cannot scale the TSC",
                guest_khz, dst.tsc_khz, diff * 1e6 / dst.tsc_khz, policy.tsc_tolerance_ppm);
  return make_error(errc::tsc_frequency_mismatch, buf);
}

}  // namespace

int64_t source_realtime_here(const snapshot::Snapshot& snap, const RestorePolicy& policy, bool clock_tuple) {
  const int64_t at_source = clock_tuple ? static_cast<int64_t>(snap.clock.realtime_ns) : snap.captured.realtime_ns;
  return at_source + policy.realtime_offset_ns;
}

Result<Admission> admit(const snapshot::Snapshot& snap, const DestinationFacts& dst, const RestorePolicy& policy) {
  if (snap.vcpus.empty()) return make_error(errc::validation_failed, "snapshot has no vCPUs");
  if (snap.vcpus.size() != dst.vcpus)
    return make_error(errc::vcpu_count_mismatch, "snapshot has " + std::to_string(snap.vcpus.size()) +
                                                     " vCPUs, destination " + std::to_string(dst.vcpus));
  const uint32_t khz = snap.vcpus[0].tsc_khz;
  if (khz == 0) return make_error(errc::validation_failed, "snapshot vcpus[0].tsc_khz is 0");
  for (const auto& v : snap.vcpus)
    if (v.tsc_khz != khz)
      return make_error(errc::validation_failed, "snapshot vCPUs run at different TSC rates (vcpu " +
                                                     std::to_string(v.id) + ": " + std::to_string(v.tsc_khz) + " kHz)");
  Admission a;
  MIGCLOCK_TRY(check_tsc_rate(khz, dst, policy, a));

  a.clock.clock = snap.clock.clock_ns;
  uint64_t predicted = snap.clock.clock_ns;  // kvmclock right after KVM_SET_CLOCK
  if (policy.mode == ClockMode::precise) {
    if (!snap.clock.realtime_valid()) {
      a.degraded = true;
      a.degraded_reason = "snapshot has no KVM_CLOCK_REALTIME (source masterclock off): kvmclock restored by value";
    } else {
      const int64_t src_realtime = source_realtime_here(snap, policy);
      if (src_realtime <= 0)
        return make_error(errc::validation_failed, "snapshot realtime moved by the host offset " +
                                                       std::to_string(policy.realtime_offset_ns) +
                                                       " ns is not a time");
      const int64_t ahead = src_realtime - dst.realtime_now_ns;
      if (ahead > policy.future_tolerance_ns && !policy.force_future)
        return make_error(errc::realtime_in_future,
                          "snapshot realtime is " + std::to_string(ahead / 1'000'000) +
                              " ms ahead of this host (tolerance " +
                              std::to_string(policy.future_tolerance_ns / 1'000'000) +
                              " ms; check the hosts' clock agreement or force)");
      a.clock.flags = KVM_CLOCK_REALTIME;
      a.clock.realtime = static_cast<uint64_t>(src_realtime);
      if (ahead < 0) predicted += static_cast<uint64_t>(-ahead);
    }
    if (!snap.clock.host_tsc_valid()) {
      a.degraded = true;
      if (!a.degraded_reason.empty()) a.degraded_reason += "; ";
      a.degraded_reason += "snapshot has no KVM_CLOCK_HOST_TSC: TSC offsets derived from MSR_IA32_TSC";
    }
  }
  if (dst.current_clock_ns > predicted)
    return make_error(errc::would_step_backwards, "destination kvmclock " + std::to_string(dst.current_clock_ns) +
                                                      " ns is ahead of the restored " + std::to_string(predicted) +
                                                      " ns");
  return a;
}

std::array<uint64_t, 4> by_value_msr_values(const snapshot::VcpuClock& c) {
  return {c.msr_kvm_system_time, c.msr_kvm_wall_clock, c.msr_kvm_steal_time, c.msr_tsc_adjust};
}

SourceTsc source_guest_tsc(const snapshot::Snapshot& snap, size_t vcpu) {
  const snapshot::VcpuClock& c = snap.vcpus[vcpu];
  if (snap.clock.host_tsc_valid() && c.tsc_offset_valid)
    return {guest_tsc_at(snap.clock.host_tsc, {c.tsc_scaling_ratio, c.tsc_scaling_frac_bits}, c.tsc_offset), true};
  return {c.msr_tsc, false};
}

std::vector<uint64_t> plan_tsc_offsets(const snapshot::Snapshot& snap, const DestinationClock& dst,
                                       const std::vector<TscScale>& dst_scale) {
  const int64_t elapsed_ns = static_cast<int64_t>(dst.clock_ns - snap.clock.clock_ns);
  std::vector<uint64_t> offsets(snap.vcpus.size());
  auto same_group = [&](size_t a, size_t b) {
    const snapshot::VcpuClock& x = snap.vcpus[a];
    const snapshot::VcpuClock& y = snap.vcpus[b];
    return x.tsc_offset_valid && y.tsc_offset_valid && x.tsc_offset == y.tsc_offset && x.tsc_khz == y.tsc_khz &&
           x.tsc_scaling_ratio == y.tsc_scaling_ratio && x.tsc_scaling_frac_bits == y.tsc_scaling_frac_bits &&
           dst_scale[a].ratio == dst_scale[b].ratio && dst_scale[a].frac_bits == dst_scale[b].frac_bits;
  };
  for (size_t i = 0; i < snap.vcpus.size(); ++i) {
    // vCPUs that matched on the source get the first one's offset: with an
    // exact host_tsc the arithmetic would agree anyway, but the fallback
    // (per-vCPU MSR_IA32_TSC, each read at its own instant) would not.
    size_t leader = i;
    for (size_t j = 0; j < i && leader == i; ++j)
      if (same_group(i, j)) leader = j;
    if (leader != i) {
      offsets[i] = offsets[leader];
      continue;
    }
    const uint64_t src = source_guest_tsc(snap, i).guest_tsc;
    const uint64_t dst_guest = src + static_cast<uint64_t>(ns_to_cycles(elapsed_ns, snap.vcpus[i].tsc_khz));
    offsets[i] = dst_guest - scale_tsc(dst.host_tsc, dst_scale[i]);
  }
  return offsets;
}

kvm_pit_state2 rebase_pit(const snapshot::PitState& pit, int64_t captured_monotonic_raw_ns, int64_t dst_mono_now_ns,
                          int64_t elapsed_ns, PitPolicy policy) {
  kvm_pit_state2 k{};
  k.flags = pit.flags;
  for (size_t i = 0; i < 3; ++i) {
    const snapshot::PitChannel& p = pit.channels[i];
    kvm_pit_channel_state& c = k.channels[i];
    c.count = p.count;
    c.latched_count = p.latched_count;
    c.count_latched = p.count_latched;
    c.status_latched = p.status_latched;
    c.status = p.status;
    c.read_state = p.read_state;
    c.write_state = p.write_state;
    c.write_latch = p.write_latch;
    c.rw_mode = p.rw_mode;
    c.mode = p.mode;
    c.bcd = p.bcd;
    c.gate = p.gate;
    const int64_t since_load = captured_monotonic_raw_ns - p.count_load_time;
    c.count_load_time = dst_mono_now_ns - since_load - (policy == PitPolicy::advance ? elapsed_ns : 0);
  }
  return k;
}

}  // namespace migclock::kvm
