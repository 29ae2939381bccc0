#include "report.hpp"

#include <sstream>

#include "migclock/common/json_writer.hpp"

namespace migclock::testvmm {

std::string to_json(const ContinuityReport& r) {
  PrettyJsonWriter w;
  w.begin_object()
      .field("mode", r.mode)
      .field("vcpus", static_cast<uint32_t>(r.vcpus))
      .field("pause_ms", static_cast<int64_t>(r.pause_ms))
      .key("capture_us")
      .optional(r.capture_us)
      .field("restore_us", static_cast<int64_t>(r.restore_us))
      .field("blackout_ns", static_cast<int64_t>(r.blackout_ns))
      .key("realtime_offset_ns");
  if (r.realtime_offset) {
    w.value(static_cast<int64_t>(r.realtime_offset->offset_ns))
        .field("realtime_offset_uncertainty_ns", static_cast<int64_t>(r.realtime_offset->uncertainty_ns))
        .field("realtime_offset_evidence", r.realtime_offset->evidence);
  } else {
    w.null();
  }
  w.field("kvmclock_error_ns", static_cast<int64_t>(r.kvmclock_error_ns));
  if (!r.readings.empty()) {
    w.key("kvmclock_error_bounds_ns")
        .begin_array()
        .value(static_cast<int64_t>(r.readings[0].kvmclock_error_min_ns))
        .value(static_cast<int64_t>(r.readings[0].kvmclock_error_max_ns))
        .end_array();
  }
  w.field("stepped_back", r.stepped_back)
      .field("tsc_honoured", r.tsc_honoured)
      .key("tsc_error_cycles")
      .optional(r.tsc_error_cycles)
      .field("offsets_matched", r.offsets_matched)
      .field("tsc_stable", r.tsc_stable)
      .field("clock_msrs_hold", r.clock_msrs_hold)
      .field("degraded", r.degraded);
  if (r.degraded) w.field("degraded_reason", r.degraded_reason);
  w.field("kvmclock_ctrl_einval", static_cast<uint32_t>(r.kvmclock_ctrl_einval)).field("pit_restored", r.pit_restored);
  if (r.pit_restored) w.field("pit_state_holds", r.pit_state_holds).field("pit_load_times_hold", r.pit_load_times_hold);
  w.field("continuity_violated", r.continuity_violated).key("violations").begin_array();
  for (const auto& v : r.violations) w.value(v);
  w.end_array().key("per_vcpu").begin_array();
  for (size_t i = 0; i < r.readings.size(); ++i) {
    const VcpuReading& g = r.readings[i];
    w.begin_object()
        .field("vcpu", static_cast<uint32_t>(g.vcpu))
        .field("guest_kvmclock_ns", static_cast<uint64_t>(g.guest_kvmclock_ns))
        .field("guest_tsc", static_cast<uint64_t>(g.guest_tsc))
        .field("kvmclock_error_ns", static_cast<int64_t>(g.kvmclock_error_ns))
        .key("kvmclock_error_bounds_ns")
        .begin_array()
        .value(static_cast<int64_t>(g.kvmclock_error_min_ns))
        .value(static_cast<int64_t>(g.kvmclock_error_max_ns))
        .end_array()
        .field("in_get_clock_bracket", g.in_bracket);
    if (i < r.offsets.size()) {
      w.field("tsc_offset_written", static_cast<uint64_t>(r.offsets[i].written))
          .field("tsc_offset_read_back", static_cast<uint64_t>(r.offsets[i].read_back))
          .field("tsc_offset_holds", r.offsets[i].holds);
    }
    w.end_object();
  }
  w.end_array().end_object();
  return w.str();
}

std::string to_text(const ContinuityReport& r) {
  std::ostringstream o;
  o << "mode " << r.mode << ", " << r.vcpus << " vCPUs, pause " << r.pause_ms << " ms\n";
  if (r.capture_us) o << "capture        " << *r.capture_us << " us\n";
  o << "restore        " << r.restore_us << " us\n";
  if (r.realtime_offset)
    o << "host offset    " << r.realtime_offset->offset_ns << " ns (this host - source; "
      << r.realtime_offset->evidence << ")\n";
  o << "kvmclock error " << r.kvmclock_error_ns << " ns (guest's first read vs value at pause + elapsed realtime)\n";
  if (!r.readings.empty())
    o << "  bounds       [" << r.readings[0].kvmclock_error_min_ns << ", " << r.readings[0].kvmclock_error_max_ns
      << "] ns (against CLOCK_REALTIME around the guest's KVM_RUN)\n";
  if (r.pit_restored)
    o << "PIT            state " << (r.pit_state_holds ? "holds" : "DOES NOT hold") << ", count phase "
      << (r.pit_load_times_hold ? "kept" : "restarted by the kernel at KVM_SET_PIT2") << "\n";
  if (r.kvmclock_ctrl_einval)
    o << "KVMCLOCK_CTRL  EINVAL on " << r.kvmclock_ctrl_einval << " vCPU(s): their guest has no kvmclock\n";
  o << "stepped back   " << (r.stepped_back ? "YES" : "no") << "\n";
  o << "TSC            " << (r.tsc_honoured ? "honoured" : "NOT honoured by this host (no TSC continuity claimed)");
  if (r.tsc_error_cycles) o << ", error " << *r.tsc_error_cycles << " cycles";
  o << "\noffsets matched " << (r.offsets_matched ? "yes" : "no") << ", TSC_STABLE " << (r.tsc_stable ? "yes" : "no")
    << "\n";
  if (r.degraded) o << "DEGRADED: " << r.degraded_reason << "\n";
  for (const auto& v : r.violations) o << "VIOLATION: " << v << "\n";
  return o.str();
}

}  // namespace migclock::testvmm
