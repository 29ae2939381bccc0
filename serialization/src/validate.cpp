// Semantic rules for a decoded snapshot (docs/snapshot-format.md, "Validation").
// Each rule reports once per offending field, naming it.
#include "migclock/serialization/validate.hpp"

#include <cmath>
#include <string>
#include <unordered_set>

#include "migclock/serialization/enum_names.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "utf8.hpp"

namespace migclock::serialization {
namespace {

using snapshot::Snapshot;

struct TextScan {
  bool control = false;                         // C0, DEL or C1 control characters
  std::size_t bad_utf8_at = std::string::npos;  // offset of the first ill-formed sequence
};

// Strings go into JSON (which must be UTF-8), terminals and logs, so they
// must be well-formed UTF-8 and free of control characters, including the
// C1 ones (U+0080..U+009F), which terminals act on just like C0.
TextScan scan_text(const std::string& value) {
  TextScan scan;
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t len = detail::utf8_sequence_length(value, i);
    const auto c = static_cast<unsigned char>(value[i]);
    if (len == 0) {
      if (scan.bad_utf8_at == std::string::npos) scan.bad_utf8_at = i;
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F || (c == 0xC2 && static_cast<unsigned char>(value[i + 1]) <= 0x9F)) scan.control = true;
    i += len;
  }
  return scan;
}

class Checker {
 public:
  explicit Checker(std::vector<ValidationError>& out) : out_(out) {}
  void fail(std::string field, std::string rule, std::string message) {
    out_.push_back({std::move(field), std::move(rule), std::move(message)});
  }

  void frequency(const std::string& field, uint32_t khz) {
    if (khz == 0) {
      fail(field, "positive_frequency", "must be > 0");
    } else if (khz < kMinPlausibleTscKhz || khz > kMaxPlausibleTscKhz) {
      fail(field, "plausible_frequency",
           std::to_string(khz) + " kHz is outside the plausible range " + std::to_string(kMinPlausibleTscKhz) +
               ".." + std::to_string(kMaxPlausibleTscKhz) + " kHz");
    }
  }

  void nonzero_time(const std::string& field, int64_t ns) {
    if (ns <= 0) fail(field, "nonzero_timestamp", "must be > 0 (got " + std::to_string(ns) + ")");
  }

  void text(const std::string& field, const std::string& value, bool required) {
    if (required && value.empty()) fail(field, "required", "must not be empty");
    if (value.size() > kMaxStringBytes)
      fail(field, "bounded_string",
           std::to_string(value.size()) + " bytes exceed the limit of " + std::to_string(kMaxStringBytes));
    const TextScan scan = scan_text(value);
    if (scan.control) fail(field, "printable_string", "contains control characters");
    if (scan.bad_utf8_at != std::string::npos)
      fail(field, "utf8_string", "is not valid UTF-8 (bad byte sequence at offset " + std::to_string(scan.bad_utf8_at) + ")");
  }

  template <class E>
  void known_enum(const std::string& field, E value) {
    if (!enum_name(value)) fail(field, "known_enum", enum_label(value) + " is not one of " + enum_choices<E>());
  }

 private:
  std::vector<ValidationError>& out_;
};

void check_identity(const Snapshot& s, Checker& c) {
  c.text("vm.uuid", s.vm.uuid, false);
  c.text("vm.name", s.vm.name, false);
  if (s.vm.uuid.empty() && s.vm.name.empty()) c.fail("vm", "identity", "needs a uuid or a name");
  c.text("host.hostname", s.host.hostname, true);
  c.text("host.boot_id", s.host.boot_id, false);
  c.text("host.clocksource", s.host.clocksource, false);
  c.text("software_version", s.software_version, true);
  c.text("rtc.source", s.rtc.source, false);
  c.known_enum("source", s.source);
  c.known_enum("host.offset_honoured", s.host.offset_honoured);
  c.known_enum("host.tsc_khz_source", s.host.tsc_khz_source);
  c.known_enum("host.kvm", s.host.kvm);
  // An owned VMM does its own KVM ioctls: it cannot come from a host without KVM.
  if (s.source == snapshot::CaptureSource::owned_vmm && s.host.kvm == snapshot::KvmPresence::absent)
    c.fail("host.kvm", "kvm_consistency", "an owned-VMM capture needs KVM, but host.kvm is absent");
  c.known_enum("masterclock.state", s.masterclock.state);
  c.known_enum("masterclock.evidence", s.masterclock.evidence);
}

void check_times(const Snapshot& s, Checker& c) {
  c.nonzero_time("captured.realtime_ns", s.captured.realtime_ns);
  c.nonzero_time("captured.monotonic_raw_ns", s.captured.monotonic_raw_ns);
  // A libvirt/QEMU observation has no KVM_GET_CLOCK tuple (QEMU owns the
  // VM fds): there, an all-zero tuple means "not captured", not "zero".
  const auto& k = s.clock;
  const bool tuple_absent = s.source == snapshot::CaptureSource::libvirt_qemu && k.clock_ns == 0 && k.flags == 0 &&
                            k.realtime_ns == 0 && k.host_tsc == 0;
  if (k.clock_ns == 0 && !tuple_absent) c.fail("clock.clock_ns", "nonzero_timestamp", "must be > 0");
  if (s.rtc.present) c.nonzero_time("rtc.date_unix_s", s.rtc.date_unix_s);
  if (s.guest_time) {
    c.nonzero_time("guest_time.guest_ns", s.guest_time->guest_ns);
    c.nonzero_time("guest_time.host_mid_ns", s.guest_time->host_mid_ns);
    if (s.guest_time->rtt_ns < 0) c.fail("guest_time.rtt_ns", "non_negative", "must be >= 0");
  }
}

void check_clock(const Snapshot& s, Checker& c) {
  const auto& k = s.clock;
  constexpr uint32_t known = snapshot::kClockTscStable | snapshot::kClockRealtime | snapshot::kClockHostTsc;
  if (k.flags & ~known) c.fail("clock.flags", "known_flags", "has bits outside KVM_CLOCK_TSC_STABLE|REALTIME|HOST_TSC");
  if (k.realtime_valid() && k.realtime_ns == 0)
    c.fail("clock.realtime_ns", "flag_consistency", "KVM_CLOCK_REALTIME is set but realtime_ns is 0");
  if (!k.realtime_valid() && k.realtime_ns != 0)
    c.fail("clock.realtime_ns", "flag_consistency", "realtime_ns is set but KVM_CLOCK_REALTIME is not");
  if (k.host_tsc_valid() && k.host_tsc == 0)
    c.fail("clock.host_tsc", "flag_consistency", "KVM_CLOCK_HOST_TSC is set but host_tsc is 0");
  if (!k.host_tsc_valid() && k.host_tsc != 0)
    c.fail("clock.host_tsc", "flag_consistency", "host_tsc is set but KVM_CLOCK_HOST_TSC is not");
  // Evidence from the flags must agree with the flags.
  if (s.masterclock.evidence == snapshot::MasterclockEvidence::clock_flags) {
    const bool active = s.masterclock.state == snapshot::MasterclockState::active;
    if (active != k.tsc_stable())
      c.fail("masterclock.state", "flag_consistency",
             "evidence is clock_flags but state disagrees with KVM_CLOCK_TSC_STABLE");
  }
}

void check_scaling(const snapshot::VcpuClock& v, const std::string& at, const Snapshot& s, Checker& c) {
  const uint32_t bits = v.tsc_scaling_frac_bits;
  if (bits != 0 && bits != 32 && bits != 48) {
    c.fail(at + ".tsc_scaling_frac_bits", "frac_bits", std::to_string(bits) + " is not one of 0, 32, 48");
    return;
  }
  const uint64_t identity = 1ull << bits;
  if (v.tsc_scaling_ratio == 0) {
    c.fail(at + ".tsc_scaling_ratio", "ratio_consistent", "must be > 0");
    return;
  }
  if (bits == 0 && v.tsc_scaling_ratio != 1) {
    c.fail(at + ".tsc_scaling_ratio", "ratio_consistent", "with 0 frac bits (no scaling) the ratio must be 1");
    return;
  }
  if (v.tsc_scaling_ratio == identity || v.tsc_khz == 0 || s.host.tsc_khz == 0) return;
  if (!s.host.scaling_supported) {
    c.fail(at + ".tsc_scaling_ratio", "ratio_consistent", "a non-identity ratio on a host without TSC scaling");
    return;
  }
  const double ratio = std::ldexp(static_cast<double>(v.tsc_scaling_ratio), -static_cast<int>(bits));
  const double expected = static_cast<double>(v.tsc_khz) / s.host.tsc_khz;
  if (std::fabs(ratio - expected) > kRatioTolerance * expected)
    c.fail(at + ".tsc_scaling_ratio", "ratio_consistent",
           "ratio " + std::to_string(ratio) + " disagrees with tsc_khz / host.tsc_khz = " + std::to_string(expected));
}

void check_vcpus(const Snapshot& s, Checker& c) {
  if (s.vcpus.empty()) c.fail("vcpus", "vcpu_count", "must hold at least one vCPU");
  if (s.vcpus.size() > kMaxVcpus)
    c.fail("vcpus", "vcpu_count",
           std::to_string(s.vcpus.size()) + " vCPUs exceed the limit of " + std::to_string(kMaxVcpus));
  std::unordered_set<uint32_t> seen;
  bool contiguous = true;
  // Format 1.1: an unknown host frequency is said, not implied by a 0.
  const bool frequency_unknown = s.host.tsc_khz_source == snapshot::TscKhzSource::unknown;
  for (std::size_t i = 0; i < s.vcpus.size(); ++i) {
    const auto& v = s.vcpus[i];
    const std::string at = "vcpus[" + std::to_string(i) + "]";
    if (!seen.insert(v.id).second) c.fail(at + ".id", "unique_vcpu_id", "id " + std::to_string(v.id) + " repeats");
    if (v.id >= s.vcpus.size()) contiguous = false;
    // A libvirt/QEMU guest's rate derives from its host's: unknown together.
    if (!(v.tsc_khz == 0 && frequency_unknown && s.source == snapshot::CaptureSource::libvirt_qemu))
      c.frequency(at + ".tsc_khz", v.tsc_khz);
    check_scaling(v, at, s, c);
  }
  // Unique ids all below the count are exactly 0..n-1; a repeat is already
  // reported above (and implies a gap), so only ids out of range count here.
  if (!contiguous)
    c.fail("vcpus", "contiguous_vcpu_ids", "ids must be exactly 0.." + std::to_string(s.vcpus.size() - 1));
  if (!frequency_unknown)
    c.frequency("host.tsc_khz", s.host.tsc_khz);
  else if (s.host.tsc_khz != 0)
    c.fail("host.tsc_khz", "unknown_frequency",
           std::to_string(s.host.tsc_khz) + " kHz given, but host.tsc_khz_source says the frequency is unknown");
}

void check_pit(const Snapshot& s, Checker& c) {
  if (!s.pit.present) return;
  for (std::size_t i = 0; i < s.pit.channels.size(); ++i) {
    const auto& ch = s.pit.channels[i];
    const std::string at = "pit.channels[" + std::to_string(i) + "]";
    if (ch.mode > kPitMaxMode) c.fail(at + ".mode", "pit_mode", std::to_string(ch.mode) + " is not a PIT mode 0..5");
    if (ch.count > kPitMaxCount)
      c.fail(at + ".count", "pit_count", std::to_string(ch.count) + " exceeds " + std::to_string(kPitMaxCount));
    if (ch.bcd > 1) c.fail(at + ".bcd", "pit_flag", "must be 0 or 1");
    if (ch.gate > 1) c.fail(at + ".gate", "pit_flag", "must be 0 or 1");
  }
}

}  // namespace

std::vector<ValidationError> validate(const Snapshot& s) {
  std::vector<ValidationError> errors;
  Checker c(errors);
  check_identity(s, c);
  check_times(s, c);
  check_clock(s, c);
  check_vcpus(s, c);
  check_pit(s, c);
  return errors;
}

Status validate_status(const Snapshot& s) {
  auto errors = validate(s);
  if (errors.empty()) return {};
  std::string context;
  for (const auto& e : errors) {
    if (!context.empty()) context += "; ";
    context += e.to_string();
  }
  return make_error(errc::validation_failed, std::move(context));
}

}  // namespace migclock::serialization
