#include "migclock/agent/capture.hpp"

#include <rapidjson/document.h>

#include <ctime>

#include "migclock/agent/masterclock_trace.hpp"
#include "migclock/common/text_guard.hpp"
#include "migclock/agent/qemu_process.hpp"
#include "migclock/agent_sync/libvirt_channel.hpp"
#include "migclock/agent_sync/offset_measurement.hpp"
#include "migclock/kvm/debugfs.hpp"

namespace migclock::agent {

namespace {

Result<rapidjson::Document> parse_return(const std::string& text, const std::string& what) {
  rapidjson::Document doc;
  if (!json_depth_ok(text)) return make_error(errc::malformed_input, what + ": reply nests too deep");
  doc.Parse(text.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return make_error(errc::malformed_input, what + ": reply is not JSON");
  if (!doc.HasMember("return")) return make_error(errc::malformed_input, what + ": reply has no \"return\": " + text);
  return doc;
}

// One VM's debugfs view → snapshot vCPUs.
std::vector<snapshot::VcpuClock> vcpus_from(const kvm::VmDebugfs& vm, uint32_t host_khz) {
  std::vector<snapshot::VcpuClock> out;
  for (const auto& d : vm.vcpus) {
    if (!d.tsc_offset) continue;
    snapshot::VcpuClock v;
    v.id = d.id;
    // The kernel prints the u64 offset as %lld; keep its bits.
    v.tsc_offset = static_cast<uint64_t>(*d.tsc_offset);
    v.tsc_offset_valid = true;
    if (d.tsc_scaling_ratio && d.tsc_scaling_frac_bits && *d.tsc_scaling_frac_bits <= 63) {
      v.tsc_scaling_ratio = *d.tsc_scaling_ratio;
      v.tsc_scaling_frac_bits = *d.tsc_scaling_frac_bits;
      v.tsc_khz = static_cast<uint32_t>((static_cast<unsigned __int128>(host_khz) * v.tsc_scaling_ratio) >>
                                        v.tsc_scaling_frac_bits);
    } else {
      v.tsc_khz = host_khz;
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace

Result<int64_t> read_rtc_date(agent_sync::QemuMonitorChannel& monitor) {
  auto reply = monitor.command(R"({"execute":"qom-get","arguments":{"path":"/machine","property":"rtc-time"}})");
  MIGCLOCK_TRY(reply);
  auto doc = parse_return(*reply, "qom-get rtc-time");
  MIGCLOCK_TRY(doc);
  const auto& r = (*doc)["return"];
  struct tm tm {};
  const char* fields[] = {"tm_year", "tm_mon", "tm_mday", "tm_hour", "tm_min", "tm_sec"};
  int* slots[] = {&tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec};
  for (int i = 0; i < 6; ++i) {
    if (!r.IsObject() || !r.HasMember(fields[i]) || !r[fields[i]].IsInt())
      return make_error(errc::malformed_input, std::string("qom-get rtc-time: missing ") + fields[i]);
    *slots[i] = r[fields[i]].GetInt();
  }
  // QEMU fills a struct tm (years since 1900, months from 0) in the RTC's
  // base; libvirt's default offset='utc' makes that UTC.
  return static_cast<int64_t>(timegm(&tm));
}

Result<CaptureReport> capture_domain(const ConnHandle& conn, const std::string& uuid, const HostProfile& host,
                                     const TimeSource& time, const CaptureOptions& opts) {
  // Stamped before the first libvirt round trip: for a paused guest this
  // is as close to the pause as the capture gets.
  CaptureReport rep;
  auto& s = rep.snapshot;
  s.captured.realtime_ns = time.realtime_ns();
  s.captured.monotonic_raw_ns = time.monotonic_raw_ns();
  auto dom = lookup_domain(conn, uuid);
  MIGCLOCK_TRY(dom);
  s.source = snapshot::CaptureSource::libvirt_qemu;
  s.software_version = MIGCLOCK_VERSION;
  s.host = host.facts;
  s.vm.uuid = uuid;
  if (const char* n = virDomainGetName(dom->get())) s.vm.name = n;

  virDomainInfo info{};
  if (virDomainGetInfo(dom->get(), &info) < 0) return libvirt_error("virDomainGetInfo " + s.vm.name);

  if (auto pid = find_qemu_pid(uuid, opts.proc_root)) {
    rep.qemu_pid = *pid;
    auto vms = kvm::read_vm_debugfs(*pid, opts.kvm_debugfs);
    if (vms && !vms->empty()) {
      for (const auto& vm : *vms) rep.debugfs_dirs.push_back(vm.dir);
      // QEMU creates one KVM VM per guest; more than one means a VM fd was
      // recreated: the newest (highest fd) is the live one.
      s.vcpus = vcpus_from(vms->back(), host.facts.tsc_khz);
    } else if (!vms) {
      rep.notes.push_back("KVM debugfs: " + vms.error().message() + " (TCG guest, or debugfs unreadable)");
    }
  } else {
    rep.notes.push_back("QEMU process not visible in " + opts.proc_root);
  }
  if (s.vcpus.empty()) {
    rep.notes.push_back("vCPU TSC offsets not captured (no readable KVM debugfs vcpuN/tsc-offset)");
    for (uint32_t i = 0; i < info.nrVirtCpu; ++i) {
      snapshot::VcpuClock v;
      v.id = i;
      v.tsc_khz = host.facts.tsc_khz;
      s.vcpus.push_back(v);
    }
  }

  // Masterclock: KVM's own verdict from tracefs where an operator enabled
  // the event (the agent does not switch tracing on system-wide); else
  // derived and marked so: KVM keeps the masterclock only with matched vCPU
  // offsets on a TSC host.
  Result<MasterclockTrace> traced = make_error(errc::not_found, "QEMU process not found");
  if (rep.qemu_pid) traced = read_masterclock_trace(opts.tracefs, thread_ids(rep.qemu_pid, opts.proc_root));
  bool offsets_known = !s.vcpus.empty() && s.vcpus.front().tsc_offset_valid;
  bool matched = offsets_known;
  for (const auto& v : s.vcpus) matched = matched && v.tsc_offset == s.vcpus.front().tsc_offset;
  if (traced) {
    s.masterclock.evidence = snapshot::MasterclockEvidence::tracefs;
    s.masterclock.state = traced->masterclock ? snapshot::MasterclockState::active : snapshot::MasterclockState::inactive;
  } else if (offsets_known) {
    rep.notes.push_back("masterclock derived from matched offsets (tracefs: " + traced.error().message() + ")");
    s.masterclock.evidence = snapshot::MasterclockEvidence::derived;
    s.masterclock.state = matched && host.masterclock_possible ? snapshot::MasterclockState::active
                                                               : snapshot::MasterclockState::inactive;
  }

  auto handle = std::make_shared<agent_sync::LibvirtDomainHandle>(dom->get());
  agent_sync::LibvirtQemuMonitorChannel monitor(handle);
  if (auto rtc = read_rtc_date(monitor)) {
    s.rtc.present = true;
    s.rtc.date_unix_s = *rtc;
    s.rtc.source = "qmp:qom-get /machine.rtc-time";
  } else {
    rep.notes.push_back("RTC not read: " + rtc.error().message());
  }

  if (opts.guest_agent_connected) {
    agent_sync::LibvirtGuestAgentChannel channel(handle);
    if (auto g = agent_sync::sample_guest_clock(channel, time, std::chrono::milliseconds(opts.guest_agent_timeout_ms))) {
      s.guest_time = snapshot::GuestTime{g->guest_ns, g->host_before_ns + g->rtt_ns() / 2, g->rtt_ns()};
    } else {
      rep.notes.push_back("guest time not read: " + g.error().message());
    }
  } else {
    rep.notes.push_back("guest agent not connected: guest time not read");
  }
  return rep;
}

}  // namespace migclock::agent
