// The clock snapshot: everything migclock captures about one VM's time on
// the source host, and everything the destination needs to restore it.
//
// Plain data only. kvm/ fills it (owned VMs), the agent fills it for
// libvirt/QEMU VMs by observation, serialization/ gives it a versioned,
// checked wire form. Units are in every name; all raw kernel values keep
// the kernel's width so nothing is lost in transit.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace migclock::snapshot {

// KVM_GET_CLOCK flag bits (include/uapi/linux/kvm.h).
inline constexpr uint32_t kClockTscStable = 1u << 1;  // KVM_CLOCK_TSC_STABLE
inline constexpr uint32_t kClockRealtime = 1u << 2;   // KVM_CLOCK_REALTIME
inline constexpr uint32_t kClockHostTsc = 1u << 3;    // KVM_CLOCK_HOST_TSC

// Per-vCPU TSC and paravirtual clock state.
struct VcpuClock {
  uint32_t id = 0;
  // KVM_VCPU_TSC_OFFSET (vCPU device attr, group KVM_VCPU_TSC_CTRL); the
  // kernel stores it as u64 and adds it modulo 2^64.
  uint64_t tsc_offset = 0;
  bool tsc_offset_valid = false;      // attr readable on the source
  uint64_t msr_tsc = 0;               // MSR_IA32_TSC (guest view)
  uint64_t msr_tsc_adjust = 0;        // MSR_IA32_TSC_ADJUST
  uint64_t msr_kvm_system_time = 0;   // MSR_KVM_SYSTEM_TIME_NEW (pvclock area GPA | enable)
  uint64_t msr_kvm_wall_clock = 0;    // MSR_KVM_WALL_CLOCK_NEW
  uint64_t msr_kvm_steal_time = 0;    // MSR_KVM_STEAL_TIME
  uint32_t tsc_khz = 0;               // KVM_GET_TSC_KHZ: guest TSC frequency; 0 = unknown
                                      // (only with host.tsc_khz_source unknown)
  // TSC scaling: guest_tsc = (host_tsc * ratio >> frac_bits) + offset.
  // A host without scaling reports ratio == 1 << frac_bits.
  uint64_t tsc_scaling_ratio = 1ull << 48;
  uint32_t tsc_scaling_frac_bits = 48;
};

// The KVM_GET_CLOCK tuple. realtime_ns and host_tsc are only meaningful
// when flags say so: use the accessors.
struct KvmClock {
  uint64_t clock_ns = 0;     // kvmclock (guest ns)
  uint32_t flags = 0;
  uint64_t realtime_ns = 0;  // host CLOCK_REALTIME at the same instant
  uint64_t host_tsc = 0;     // host TSC at the same instant

  bool tsc_stable() const { return flags & kClockTscStable; }
  bool realtime_valid() const { return flags & kClockRealtime; }
  bool host_tsc_valid() const { return flags & kClockHostTsc; }
};

enum class MasterclockState : uint8_t { unknown = 0, active = 1, inactive = 2 };
// How the masterclock state was learnt.
enum class MasterclockEvidence : uint8_t {
  none = 0,
  clock_flags = 1,  // KVM_CLOCK_TSC_STABLE in KVM_GET_CLOCK (owned VMs)
  tracefs = 2,      // kvm_update_master_clock / kvm_track_tsc events
  derived = 3,      // inferred (offsets matched, TSC clocksource); marked so
};

struct Masterclock {
  MasterclockState state = MasterclockState::unknown;
  MasterclockEvidence evidence = MasterclockEvidence::none;
};

// struct kvm_pit_channel_state, field for field.
struct PitChannel {
  uint32_t count = 0;
  uint16_t latched_count = 0;
  uint8_t count_latched = 0;
  uint8_t status_latched = 0;
  uint8_t status = 0;
  uint8_t read_state = 0;
  uint8_t write_state = 0;
  uint8_t write_latch = 0;
  uint8_t rw_mode = 0;
  uint8_t mode = 0;
  uint8_t bcd = 0;
  uint8_t gate = 0;
  // When the count was loaded. The kernel keeps it on the source host's
  // CLOCK_MONOTONIC, meaningless elsewhere; kvm/ capture stores it on the
  // snapshot's own timeline: captured.monotonic_raw_ns - count_load_time is
  // the time since the load (kvm/src/capture.cpp).
  int64_t count_load_time = 0;
};

struct PitState {
  bool present = false;
  std::array<PitChannel, 3> channels{};
  uint32_t flags = 0;
};

// RTC as the VMM exposes it. For QEMU: the mc146818rtc `date` property,
// read through QMP qom-get (a struct tm in the guest's RTC base).
struct RtcState {
  bool present = false;
  int64_t date_unix_s = 0;  // the RTC date as seconds since the epoch
  std::string source;       // e.g. "qmp:qom-get /machine/unattached/device[N].date"
};

struct VmIdentity {
  std::string uuid;    // libvirt UUID, or empty
  std::string name;    // libvirt name, or the VMM's id
};

enum class OffsetHonoured : uint8_t { unknown = 0, yes = 1, no = 2 };

// Where host.tsc_khz came from (format 1.1). `unknown` is explicit: the
// frequency could not be learnt and tsc_khz is 0. `unrecorded` (the
// default, and what a format 1.0 snapshot loads as: 1.0 had no such field)
// says nothing about the source, so the frequency must be known (> 0).
enum class TscKhzSource : uint8_t {
  unknown = 0,
  kvm = 1,                   // KVM_GET_TSC_KHZ of a scratch VM
  libvirt_capabilities = 2,  // <counter name='tsc' frequency=…/> in virConnectGetCapabilities
  cpuid = 3,                 // CPUID leaf 0x15 (crystal ratio) or 0x16 (base MHz)
  calibration = 4,           // rdtsc against CLOCK_MONOTONIC_RAW
  unrecorded = 5,
};

// Whether the capturing host had a usable /dev/kvm (format 1.1). A host
// without one still captures libvirt/QEMU (TCG) guests; its KVM-only facts
// (offset_honoured, masterclock) are then unknown, never guessed.
enum class KvmPresence : uint8_t { unrecorded = 0, present = 1, absent = 2 };

struct HostFacts {
  std::string hostname;
  std::string boot_id;           // /proc/sys/kernel/random/boot_id
  uint32_t tsc_khz = 0;          // host TSC frequency; 0 only with tsc_khz_source unknown
  std::string clocksource;       // current host clocksource
  bool scaling_supported = false;
  OffsetHonoured offset_honoured = OffsetHonoured::unknown;
  // Since format 1.1 (HostFacts class version 2).
  TscKhzSource tsc_khz_source = TscKhzSource::unrecorded;
  KvmPresence kvm = KvmPresence::unrecorded;
};

struct CaptureTimes {
  int64_t realtime_ns = 0;        // CLOCK_REALTIME at capture
  int64_t monotonic_raw_ns = 0;   // CLOCK_MONOTONIC_RAW at capture
};

enum class CaptureSource : uint8_t { owned_vmm = 1, libvirt_qemu = 2 };

// The guest's own idea of time, read through its agent (guest-get-time).
struct GuestTime {
  int64_t guest_ns = 0;      // what the guest answered
  int64_t host_mid_ns = 0;   // host realtime at the middle of the exchange
  int64_t rtt_ns = 0;
};

struct Snapshot {
  VmIdentity vm;
  HostFacts host;
  CaptureTimes captured;
  CaptureSource source = CaptureSource::owned_vmm;
  std::string software_version;
  KvmClock clock;
  Masterclock masterclock;
  std::vector<VcpuClock> vcpus;
  PitState pit;
  RtcState rtc;
  std::optional<GuestTime> guest_time;
};

}  // namespace migclock::snapshot
