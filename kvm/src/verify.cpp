#include "migclock/kvm/verify.hpp"

#include <cstdlib>

namespace migclock::kvm {
namespace {

// The offset a host that honours a host-initiated MSR_IA32_TSC write sets,
// given the host TSC bracket around the write: [msr - after, msr - before].
bool within_by_value_bracket(uint64_t read_back, uint64_t msr_tsc, const RestoreOutcome& o, uint32_t khz) {
  const uint64_t slack = static_cast<uint64_t>(ns_to_cycles(kByValueOffsetSlackNs, khz));
  const uint64_t low = msr_tsc - o.msr_write_host_tsc_after - slack;
  const uint64_t width = o.msr_write_host_tsc_after - o.msr_write_host_tsc_before + 2 * slack;
  return read_back - low <= width;  // modulo 2^64
}

bool source_offsets_matched(const snapshot::Snapshot& snap, size_t a, size_t b) {
  const auto& x = snap.vcpus[a];
  const auto& y = snap.vcpus[b];
  return x.tsc_offset == y.tsc_offset && x.tsc_scaling_ratio == y.tsc_scaling_ratio &&
         x.tsc_scaling_frac_bits == y.tsc_scaling_frac_bits;
}

}  // namespace

Result<Verification> verify(const ClockTarget& target, const snapshot::Snapshot& snap, const RestoreOutcome& outcome) {
  Verification v;
  v.offsets.resize(snap.vcpus.size());
  v.offsets_honoured = true;
  for (size_t i = 0; i < snap.vcpus.size(); ++i) {
    OffsetCheck& c = v.offsets[i];
    c.vcpu = snap.vcpus[i].id;
    auto read = target.get_tsc_offset(i);
    if (!read) return Error{read.error().code, "vcpu " + std::to_string(i) + ": " + read.error().context};
    c.read_back = *read;
    if (outcome.mode == ClockMode::precise) {
      c.written = outcome.offsets_written.at(i);
      c.holds = c.read_back == c.written;
    } else {
      c.written = snap.vcpus[i].msr_tsc - outcome.msr_write_host_tsc_before;
      c.holds = within_by_value_bracket(c.read_back, snap.vcpus[i].msr_tsc, outcome, snap.vcpus[i].tsc_khz);
    }
    v.offsets_honoured &= c.holds;
  }
  v.msrs_hold = true;
  for (size_t i = 0; i < snap.vcpus.size(); ++i) {
    const snapshot::VcpuClock& c = snap.vcpus[i];
    const auto written = by_value_msr_values(c);
    uint64_t read[kByValueMsrs.size()] = {};
    auto r = target.get_msrs(i, kByValueMsrs.data(), read, kByValueMsrs.size());
    if (!r) return Error{r.error().code, "vcpu " + std::to_string(i) + ": " + r.error().context};
    for (size_t k = 0; k < kByValueMsrs.size(); ++k) {
      v.msrs.push_back({c.id, kByValueMsrs[k], written[k], read[k], written[k] == read[k]});
      v.msrs_hold &= written[k] == read[k];
    }
  }
  v.offsets_matched = true;
  for (size_t i = 1; i < v.offsets.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (source_offsets_matched(snap, i, j) && v.offsets[i].read_back != v.offsets[j].read_back)
        v.offsets_matched = false;

  if (outcome.pit_restored) {
    auto pit = target.get_pit();
    if (!pit) return pit.error();
    v.pit_state_holds = v.pit_load_times_hold = true;
    for (uint32_t ch = 0; ch < 3; ++ch) {
      const kvm_pit_channel_state& w = outcome.pit_written.channels[ch];
      const kvm_pit_channel_state& r = pit->channels[ch];
      PitCheck c;
      c.channel = ch;
      c.state_holds = w.mode == r.mode && w.rw_mode == r.rw_mode && w.gate == r.gate &&
                      (w.count == r.count || (w.count == 0 && r.count == 0x10000));  // 0 means 65536
      c.count_load_time_written = w.count_load_time;
      c.count_load_time_read_back = r.count_load_time;
      c.load_time_holds = std::llabs(r.count_load_time - w.count_load_time) <= kPitLoadTimeSlackNs;
      v.pit_state_holds &= c.state_holds;
      v.pit_load_times_hold &= c.load_time_holds;
      v.pit.push_back(c);
    }
  }

  auto clock = target.get_clock();
  if (!clock) return clock.error();
  v.clock_flags = clock->flags;
  v.tsc_stable = clock->flags & KVM_CLOCK_TSC_STABLE;
  v.clock_ns = clock->clock;
  v.stepped_back = clock->clock < snap.clock.clock_ns ||
                   (target.guest_has_run() && clock->clock < outcome.clock_before_ns);
  return v;
}

}  // namespace migclock::kvm
