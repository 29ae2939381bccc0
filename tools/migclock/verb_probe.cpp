// `migclock probe [--json]`: what this host's KVM can honour for guest time.
#include <cstdio>
#include <cstring>

#include "migclock/common/json_writer.hpp"
#include "migclock/kvm/host_facts.hpp"
#include "migclock/kvm/probe.hpp"
#include "migclock/kvm/tsc_frequency.hpp"
#include "migclock/serialization/enum_names.hpp"
#include "verb.hpp"

namespace {

using migclock::kvm::ProbeReport;

const char* kUsage =
    "usage: migclock probe [--json] [--device PATH]\n"
    "\n"
    "Probes this host's KVM for what guest-time continuity it can give:\n"
    "API version, KVM_GET_CLOCK flags, TSC scaling, kvmclock control, PIT state,\n"
    "the host TSC rate and clocksource, and - by writing a TSC offset on a\n"
    "scratch VM, reading it back and letting its guest execute rdtsc - whether\n"
    "TSC offset writes are honoured. Needs read/write access to /dev/kvm.\n"
    "\n"
    "Without a usable KVM device this is a result, not an error (exit 0):\n"
    "kvm \"absent\" with the reason, and the host TSC rate from CPUID\n"
    "0x15/0x16 or a calibration against CLOCK_MONOTONIC_RAW (tsc_khz_source).\n"
    "\n"
    "  --json         machine-readable output\n"
    "  --device PATH  KVM device (default /dev/kvm)\n";

std::string to_json(const ProbeReport& r) {
  migclock::PrettyJsonWriter w;
  w.begin_object();
  w.field("kvm", "present");
  w.field("tsc_khz_source", "kvm");
  w.field("api_version", static_cast<int>(r.api_version));
  w.field("adjust_clock_flags", static_cast<uint32_t>(r.adjust_clock_flags));
  w.field("host_khz", static_cast<uint32_t>(r.host_khz));
  w.field("scaling_supported", r.scaling_supported);
  w.field("offset_honoured", r.offset.honoured());
  w.field("clocksource", r.clocksource);
  w.field("masterclock_possible", r.masterclock_possible);
  w.field("clock_flags_after_run", static_cast<uint32_t>(r.clock_flags_after_run));
  w.key("capabilities");
  w.begin_object();
  w.field("tsc_control", r.tsc_control);
  w.field("vm_tsc_control", r.vm_tsc_control);
  w.field("get_tsc_khz", r.get_tsc_khz);
  w.field("kvmclock_ctrl", r.kvmclock_ctrl);
  w.field("pit2", r.pit2);
  w.field("pit_state2", r.pit_state2);
  w.field("vcpu_attributes", r.vcpu_attributes);
  w.field("tsc_offset_attr", r.tsc_offset_attr);
  w.end_object();
  w.key("offset_probe");
  w.begin_object();
  w.field("attempted", r.offset.attempted);
  if (!r.offset.attempted) {
    w.field("reason", r.offset.not_attempted_reason);
  }
  w.field("original", static_cast<uint64_t>(r.offset.original));
  w.field("written", static_cast<uint64_t>(r.offset.written));
  w.field("read_back", static_cast<uint64_t>(r.offset.read_back));
  w.field("read_back_matches", r.offset.read_back_matches);
  w.field("guest_minus_host_cycles", static_cast<int64_t>(r.offset.guest_minus_host_cycles));
  w.field("guest_follows", r.offset.guest_follows);
  w.end_object();
  w.end_object();
  return w.str();
}

void print_text(const ProbeReport& r) {
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  std::printf("KVM API version        %d\n", r.api_version);
  std::printf("KVM_GET_CLOCK flags    0x%x (TSC_STABLE|REALTIME|HOST_TSC = 0xe)\n", r.adjust_clock_flags);
  std::printf("host TSC               %u kHz, clocksource %s\n", r.host_khz, r.clocksource.c_str());
  std::printf("masterclock possible   %s (flags after a vCPU ran: 0x%x)\n", yn(r.masterclock_possible),
              r.clock_flags_after_run);
  std::printf("TSC scaling            %s (VM-wide: %s)\n", yn(r.scaling_supported), yn(r.vm_tsc_control));
  std::printf("KVMCLOCK_CTRL          %s\n", yn(r.kvmclock_ctrl));
  std::printf("PIT2 / PIT_STATE2      %s / %s\n", yn(r.pit2), yn(r.pit_state2));
  if (!r.offset.attempted)
    std::printf("TSC offset honoured    unknown: %s\n", r.offset.not_attempted_reason.c_str());
  else
    std::printf("TSC offset honoured    %s (wrote %llu, read back %llu, guest %s)\n", yn(r.offset.honoured()),
                static_cast<unsigned long long>(r.offset.written), static_cast<unsigned long long>(r.offset.read_back),
                r.offset.guest_follows ? "follows it" : "ignores it");
  if (!r.offset.honoured())
    std::printf("\nThis host cannot give TSC continuity across migration; kvmclock continuity only.\n");
}

// No usable KVM: what this host can still say about its TSC.
struct AbsentReport {
  std::string device;
  std::string reason;
  migclock::kvm::TscFrequency rate;
  std::string clocksource;
};

AbsentReport probe_without_kvm(const std::string& device, const std::string& reason) {
  AbsentReport a{device, reason, {}, migclock::kvm::read_clocksource()};
  if (auto cpuid = migclock::kvm::tsc_frequency_from_cpuid(migclock::kvm::read_cpuid_tsc_leaves())) {
    a.rate = *cpuid;
  } else if (auto calibrated = migclock::kvm::calibrate_tsc_khz()) {
    a.rate = *calibrated;
  } else {
    a.rate.detail = "CPUID 0x15/0x16 state no rate; " + calibrated.error().message();
  }
  return a;
}

std::string to_json(const AbsentReport& a) {
  migclock::PrettyJsonWriter w;
  w.begin_object();
  w.field("kvm", "absent");
  w.field("kvm_reason", a.reason);
  w.field("device", a.device);
  w.field("host_khz", static_cast<uint32_t>(a.rate.khz));
  w.field("tsc_khz_source", migclock::serialization::enum_label(a.rate.source));
  w.field("tsc_khz_detail", a.rate.detail);
  w.field("clocksource", a.clocksource);
  // What only KVM can tell is unknown, not false.
  w.field("scaling_supported", false);
  w.key("offset_honoured").null();
  w.key("masterclock_possible").null();
  w.end_object();
  return w.str();
}

void print_text(const AbsentReport& a) {
  std::printf("KVM                    absent: %s\n", a.reason.c_str());
  if (a.rate.khz)
    std::printf("host TSC               %u kHz (%s: %s), clocksource %s\n", a.rate.khz,
                migclock::serialization::enum_label(a.rate.source).c_str(), a.rate.detail.c_str(), a.clocksource.c_str());
  else
    std::printf("host TSC               unknown (%s), clocksource %s\n", a.rate.detail.c_str(), a.clocksource.c_str());
  std::printf("\nWithout KVM this host runs guests under TCG only: migclock repairs their wall clock through\n"
              "the guest agent; TSC and kvmclock state are not observable here.\n");
}

int run_probe(int argc, char** argv) {
  bool json = false;
  std::string device = migclock::kvm::System::kDefaultPath;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!std::strcmp(argv[i], "--json")) {
      json = true;
    } else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) {
      device = argv[++i];
    } else {
      std::fprintf(stderr, "migclock probe: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  auto sys = migclock::kvm::System::open(device);
  if (!sys) {
    const AbsentReport absent = probe_without_kvm(device, sys.error().message());
    if (json)
      std::printf("%s\n", to_json(absent).c_str());
    else
      print_text(absent);
    return 0;
  }
  auto report = migclock::kvm::probe_host(*sys);
  if (!report) {
    std::fprintf(stderr, "migclock probe: %s\n", report.error().message().c_str());
    return 1;
  }
  if (json)
    std::printf("%s\n", to_json(*report).c_str());
  else
    print_text(*report);
  return 0;
}

const migclock::cli::VerbRegistrar kRegistrar("probe", "probe this host's KVM clock capabilities", run_probe);

}  // namespace
