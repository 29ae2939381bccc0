#include "report.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <sstream>

namespace migclock::testvmm {

std::string to_json(const ContinuityReport& r) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("mode"); w.String(r.mode.c_str());
  w.Key("vcpus"); w.Uint(r.vcpus);
  w.Key("pause_ms"); w.Int64(r.pause_ms);
  w.Key("capture_us");
  if (r.capture_us) w.Int64(*r.capture_us); else w.Null();
  w.Key("restore_us"); w.Int64(r.restore_us);
  w.Key("blackout_ns"); w.Int64(r.blackout_ns);
  w.Key("realtime_offset_ns");
  if (r.realtime_offset) w.Int64(r.realtime_offset->offset_ns); else w.Null();
  if (r.realtime_offset) {
    w.Key("realtime_offset_uncertainty_ns"); w.Int64(r.realtime_offset->uncertainty_ns);
    w.Key("realtime_offset_evidence"); w.String(r.realtime_offset->evidence.c_str());
  }
  w.Key("kvmclock_error_ns"); w.Int64(r.kvmclock_error_ns);
  if (!r.readings.empty()) {
    w.Key("kvmclock_error_bounds_ns");
    w.StartArray(); w.Int64(r.readings[0].kvmclock_error_min_ns); w.Int64(r.readings[0].kvmclock_error_max_ns); w.EndArray();
  }
  w.Key("stepped_back"); w.Bool(r.stepped_back);
  w.Key("tsc_honoured"); w.Bool(r.tsc_honoured);
  w.Key("tsc_error_cycles");
  if (r.tsc_error_cycles) w.Int64(*r.tsc_error_cycles); else w.Null();
  w.Key("offsets_matched"); w.Bool(r.offsets_matched);
  w.Key("tsc_stable"); w.Bool(r.tsc_stable);
  w.Key("clock_msrs_hold"); w.Bool(r.clock_msrs_hold);
  w.Key("degraded"); w.Bool(r.degraded);
  if (r.degraded) {
    w.Key("degraded_reason"); w.String(r.degraded_reason.c_str());
  }
  w.Key("kvmclock_ctrl_einval"); w.Uint(r.kvmclock_ctrl_einval);
  w.Key("pit_restored"); w.Bool(r.pit_restored);
  if (r.pit_restored) {
    w.Key("pit_state_holds"); w.Bool(r.pit_state_holds);
    w.Key("pit_load_times_hold"); w.Bool(r.pit_load_times_hold);
  }
  w.Key("continuity_violated"); w.Bool(r.continuity_violated);
  w.Key("violations");
  w.StartArray();
  for (const auto& v : r.violations) w.String(v.c_str());
  w.EndArray();
  w.Key("per_vcpu");
  w.StartArray();
  for (size_t i = 0; i < r.readings.size(); ++i) {
    const VcpuReading& g = r.readings[i];
    w.StartObject();
    w.Key("vcpu"); w.Uint(g.vcpu);
    w.Key("guest_kvmclock_ns"); w.Uint64(g.guest_kvmclock_ns);
    w.Key("guest_tsc"); w.Uint64(g.guest_tsc);
    w.Key("kvmclock_error_ns"); w.Int64(g.kvmclock_error_ns);
    w.Key("kvmclock_error_bounds_ns");
    w.StartArray(); w.Int64(g.kvmclock_error_min_ns); w.Int64(g.kvmclock_error_max_ns); w.EndArray();
    w.Key("in_get_clock_bracket"); w.Bool(g.in_bracket);
    if (i < r.offsets.size()) {
      w.Key("tsc_offset_written"); w.Uint64(r.offsets[i].written);
      w.Key("tsc_offset_read_back"); w.Uint64(r.offsets[i].read_back);
      w.Key("tsc_offset_holds"); w.Bool(r.offsets[i].holds);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
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
