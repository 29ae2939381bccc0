#include "snapshot_fixtures.hpp"

#include <stdlib.h>

#include <cstdlib>
#include <stdexcept>
#include <tuple>

namespace migclock::serialization::testing {

using namespace snapshot;

TempDir::TempDir() {
  char tmpl[] = "/tmp/migclock-serialization-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }

Snapshot sample_snapshot(std::size_t vcpus) {
  Snapshot s;
  s.vm.uuid = "6f1c9a52-3d1e-4b7a-9c0e-2a4b5c6d7e8f";
  s.vm.name = "guest-a";
  s.host.hostname = "host-a.example";
  s.host.boot_id = "0d3f6a4e-8c1b-4e8a-a2b1-7e6f5d4c3b2a";
  s.host.tsc_khz = 2'995'200;
  s.host.clocksource = "tsc";
  s.host.scaling_supported = true;
  s.host.offset_honoured = OffsetHonoured::yes;
  s.host.tsc_khz_source = TscKhzSource::kvm;
  s.host.kvm = KvmPresence::present;
  s.captured.realtime_ns = 1'795'000'000'123'456'789;
  s.captured.monotonic_raw_ns = 987'654'321'000;
  s.source = CaptureSource::owned_vmm;
  s.software_version = "0.1.0";
  s.clock.clock_ns = 12'345'678'901;
  s.clock.flags = kClockTscStable | kClockRealtime | kClockHostTsc;
  s.clock.realtime_ns = 1'795'000'000'123'400'000;
  s.clock.host_tsc = 0xF123'4567'89AB'CDEFull;  // above 2^53: must survive JSON exactly
  s.masterclock = {MasterclockState::active, MasterclockEvidence::clock_flags};
  for (std::size_t i = 0; i < vcpus; ++i) {
    VcpuClock v;
    v.id = static_cast<uint32_t>(i);
    v.tsc_offset = 0xFFFF'FF00'0000'0000ull - i;  // negative offsets wrap modulo 2^64
    v.tsc_offset_valid = true;
    v.msr_tsc = 36'000'000'000ull + i * 17;
    v.msr_tsc_adjust = i;
    v.msr_kvm_system_time = 0x7ff0'1001ull + i * 0x40;
    v.msr_kvm_wall_clock = 0x7ff0'0000ull;
    v.msr_kvm_steal_time = 0x7ff0'2001ull + i * 0x40;
    v.tsc_khz = 2'995'200;
    v.tsc_scaling_ratio = 1ull << 48;
    v.tsc_scaling_frac_bits = 48;
    s.vcpus.push_back(v);
  }
  s.pit.present = true;
  s.pit.flags = 0;
  for (std::size_t i = 0; i < s.pit.channels.size(); ++i) {
    auto& c = s.pit.channels[i];
    c.count = i == 0 ? 65536 : 18;
    c.latched_count = static_cast<uint16_t>(100 + i);
    c.rw_mode = 3;
    c.mode = static_cast<uint8_t>(i == 0 ? 2 : 3);
    c.gate = i == 2 ? 0 : 1;
    c.count_load_time = 987'000'000'000 + static_cast<int64_t>(i);
  }
  s.rtc = {true, 1'795'000'000, "qmp:qom-get /machine/unattached/device[3].date"};
  s.guest_time = GuestTime{1'795'000'000'120'000'000, 1'795'000'000'120'000'100, 250'000};
  return s;
}

Snapshot golden_v1_snapshot() {
  Snapshot s;
  s.vm = {"0b6f3c1e-5a2d-4f8e-9b7c-1d2e3f405162", "golden-vm"};
  s.host.hostname = "golden-host";
  s.host.boot_id = "7a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9";
  s.host.tsc_khz = 2'100'000;
  s.host.clocksource = "tsc";
  s.host.scaling_supported = true;
  s.host.offset_honoured = OffsetHonoured::unknown;
  s.host.tsc_khz_source = TscKhzSource::unrecorded;  // format 1.0 had no such field
  s.host.kvm = KvmPresence::unrecorded;
  s.captured = {1'790'000'000'000'000'001, 5'000'000'002};
  s.source = CaptureSource::libvirt_qemu;
  s.software_version = "0.1.0";
  s.clock = {7'000'000'003, kClockTscStable | kClockRealtime, 1'790'000'000'000'000'004, 0};
  s.masterclock = {MasterclockState::active, MasterclockEvidence::tracefs};
  for (uint32_t i = 0; i < 4; ++i) {
    VcpuClock v;
    v.id = i;
    v.tsc_offset = 0xFFFF'FFF0'0000'0000ull + i;
    v.tsc_offset_valid = i != 3;
    v.msr_tsc = 14'700'000'000ull + i;
    v.msr_tsc_adjust = 0;
    v.msr_kvm_system_time = 0x1000'0001ull + 0x40ull * i;
    v.msr_kvm_wall_clock = 0x1000'2000ull;
    v.msr_kvm_steal_time = 0x1000'3001ull + 0x40ull * i;
    v.tsc_khz = 3'150'000;
    v.tsc_scaling_ratio = 0x1'8000'0000'0000ull;  // 1.5 with 48 frac bits
    v.tsc_scaling_frac_bits = 48;
    s.vcpus.push_back(v);
  }
  s.pit.present = true;
  s.pit.flags = 1;
  s.pit.channels[0] = {65535, 7, 1, 0, 0x34, 1, 2, 3, 3, 2, 0, 1, 5'000'000'000};
  s.pit.channels[1] = {18, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 1, 4'000'000'000};
  s.pit.channels[2] = {0, 0, 0, 1, 0xB6, 0, 0, 0, 3, 0, 1, 0, 0};
  s.rtc = {true, 1'790'000'000, "qmp:qom-get /machine/unattached/device[2].date"};
  s.guest_time = std::nullopt;
  return s;
}

Snapshot golden_v1_1_snapshot() {
  Snapshot s;
  s.vm = {"5d0e8a61-2c3b-4e7f-8a9b-0c1d2e3f4a5b", "golden-tcg-vm"};
  s.host.hostname = "golden-host-nokvm";
  s.host.boot_id = "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e";
  s.host.tsc_khz = 0;
  s.host.clocksource = "tsc";
  s.host.scaling_supported = false;
  s.host.offset_honoured = OffsetHonoured::unknown;
  s.host.tsc_khz_source = TscKhzSource::unknown;
  s.host.kvm = KvmPresence::absent;
  s.captured = {1'796'000'000'000'000'011, 6'000'000'012};
  s.source = CaptureSource::libvirt_qemu;
  s.software_version = "0.2.0";
  s.clock = {0, 0, 0, 0};  // QEMU's KVM_GET_CLOCK is not observable (TCG)
  s.masterclock = {MasterclockState::unknown, MasterclockEvidence::none};
  for (uint32_t i = 0; i < 2; ++i) {
    VcpuClock v;
    v.id = i;
    v.tsc_khz = 0;  // unknown, as the host's
    s.vcpus.push_back(v);
  }
  s.pit.present = false;
  s.rtc = {true, 1'796'000'000, "qmp:qom-get /machine/unattached/device[4].date"};
  s.guest_time = GuestTime{1'796'000'000'000'050'000, 1'796'000'000'000'000'013, 180'000};
  return s;
}

Snapshot golden_current_snapshot() { return golden_v1_1_snapshot(); }

namespace {

auto tie(const VcpuClock& v) {
  return std::tie(v.id, v.tsc_offset, v.tsc_offset_valid, v.msr_tsc, v.msr_tsc_adjust, v.msr_kvm_system_time,
                  v.msr_kvm_wall_clock, v.msr_kvm_steal_time, v.tsc_khz, v.tsc_scaling_ratio,
                  v.tsc_scaling_frac_bits);
}
auto tie(const PitChannel& c) {
  return std::tie(c.count, c.latched_count, c.count_latched, c.status_latched, c.status, c.read_state,
                  c.write_state, c.write_latch, c.rw_mode, c.mode, c.bcd, c.gate, c.count_load_time);
}
auto tie(const GuestTime& g) { return std::tie(g.guest_ns, g.host_mid_ns, g.rtt_ns); }

}  // namespace

std::string first_difference(const Snapshot& a, const Snapshot& b) {
  if (std::tie(a.vm.uuid, a.vm.name) != std::tie(b.vm.uuid, b.vm.name)) return "vm";
  if (std::tie(a.host.hostname, a.host.boot_id, a.host.tsc_khz, a.host.clocksource, a.host.scaling_supported,
               a.host.offset_honoured, a.host.tsc_khz_source, a.host.kvm) !=
      std::tie(b.host.hostname, b.host.boot_id, b.host.tsc_khz, b.host.clocksource, b.host.scaling_supported,
               b.host.offset_honoured, b.host.tsc_khz_source, b.host.kvm))
    return "host";
  if (std::tie(a.captured.realtime_ns, a.captured.monotonic_raw_ns) !=
      std::tie(b.captured.realtime_ns, b.captured.monotonic_raw_ns))
    return "captured";
  if (a.source != b.source) return "source";
  if (a.software_version != b.software_version) return "software_version";
  if (std::tie(a.clock.clock_ns, a.clock.flags, a.clock.realtime_ns, a.clock.host_tsc) !=
      std::tie(b.clock.clock_ns, b.clock.flags, b.clock.realtime_ns, b.clock.host_tsc))
    return "clock";
  if (std::tie(a.masterclock.state, a.masterclock.evidence) != std::tie(b.masterclock.state, b.masterclock.evidence))
    return "masterclock";
  if (a.vcpus.size() != b.vcpus.size()) return "vcpus.size";
  for (std::size_t i = 0; i < a.vcpus.size(); ++i)
    if (tie(a.vcpus[i]) != tie(b.vcpus[i])) return "vcpus[" + std::to_string(i) + "]";
  if (std::tie(a.pit.present, a.pit.flags) != std::tie(b.pit.present, b.pit.flags)) return "pit";
  for (std::size_t i = 0; i < a.pit.channels.size(); ++i)
    if (tie(a.pit.channels[i]) != tie(b.pit.channels[i])) return "pit.channels[" + std::to_string(i) + "]";
  if (std::tie(a.rtc.present, a.rtc.date_unix_s, a.rtc.source) != std::tie(b.rtc.present, b.rtc.date_unix_s, b.rtc.source))
    return "rtc";
  if (a.guest_time.has_value() != b.guest_time.has_value()) return "guest_time";
  if (a.guest_time && tie(*a.guest_time) != tie(*b.guest_time)) return "guest_time";
  return "";
}

}  // namespace migclock::serialization::testing
