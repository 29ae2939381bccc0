// cereal schema of the snapshot model, kept out of the plain structs
// (non-intrusive). Every model type carries CEREAL_CLASS_VERSION from v1.
//
// Field names are the struct member names (they are the JSON keys other
// components read: clock.clock_ns, vcpus[i].tsc_offset, ...). The binary
// encoding of every field is exactly cereal's own (size tag + bytes for
// strings and vectors), but the loaders check what cereal would trust:
//   - declared string/vector lengths are capped before anything is
//     allocated (cereal would resize to a hostile 2^40 first);
//   - bool bytes must be 0 or 1 and enum bytes one of the enum's values
//     (anything else is undefined behaviour once stored);
//   - narrow integers in JSON are range-checked (cereal truncates).
// Loaders throw DecodeError; snapshot_io.cpp turns every exception into an
// Error at the decode boundary. Nothing here is meant to be called with a
// hostile archive outside that boundary.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>

#include "migclock/common/result.hpp"
#include "migclock/serialization/enum_names.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::serialization::detail {

// Every model type was at class version 1 in format 1.0. Format 1.1 moved
// HostFacts to version 2 (tsc_khz_source, kvm); a loader reads a version-1
// HostFacts (any 1.0 snapshot) with those two as `unrecorded`/`unknown`.
// A loader meets a newer class version only in a newer format minor, which
// the envelope already refuses; the per-type check catches crafted payloads.
inline constexpr std::uint32_t kClassVersion = 1;
inline constexpr std::uint32_t kHostFactsClassVersion = 2;

// Decode limits that guard allocation (validation applies stricter ones).
inline constexpr std::size_t kMaxDecodedStringBytes = 64u << 10;
inline constexpr std::size_t kMaxDecodedVcpus = 1024;

class DecodeError : public std::runtime_error {
 public:
  DecodeError(errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  explicit DecodeError(const std::string& what) : DecodeError(errc::malformed_input, what) {}
  errc code() const { return code_; }

 private:
  errc code_;
};

// Where a loader is, as a path ("vcpus[2].tsc_khz"), so that every decode
// error names its field, including cereal's own exceptions ("rapidjson
// internal assertion failure ..."), which know nothing about fields.
// Loading only: a fixed stack of frames, pushed and popped by field();
// rendered only when something fails.
struct PathFrame {
  const char* name;
  long index;  // element index when the field is a list being loaded, else -1
};
inline constexpr int kMaxPathDepth = 16;
inline thread_local PathFrame path_stack[kMaxPathDepth];
inline thread_local int path_depth = 0;
inline thread_local std::string failed_path;  // the deepest path at the first failure

inline std::string current_path() {
  std::string out;
  for (int i = 0; i < path_depth && i < kMaxPathDepth; ++i) {
    if (!out.empty()) out += '.';
    out += path_stack[i].name;
    if (path_stack[i].index >= 0) out += "[" + std::to_string(path_stack[i].index) + "]";
  }
  return out;
}

inline void reset_path() {
  path_depth = 0;
  failed_path.clear();
}

// Marks which element of the list field on top of the stack is loading.
inline void set_path_index(long index) {
  if (path_depth > 0 && path_depth <= kMaxPathDepth) path_stack[path_depth - 1].index = index;
}

template <class A>
inline constexpr bool kText = cereal::traits::is_text_archive<A>::value;
template <class A>
inline constexpr bool kLoading = std::is_base_of_v<cereal::detail::InputArchiveBase, A>;

inline void check_class_version(const char* type, std::uint32_t version, std::uint32_t newest = kClassVersion) {
  if (version > newest)
    throw DecodeError(errc::version_mismatch, std::string(type) + ": class version " + std::to_string(version) +
                                                  " is newer than this build's " + std::to_string(newest));
}

// One named field, in either direction, in either archive.
template <class A, class T>
void field_value(A& ar, const char* name, T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    if constexpr (kText<A>) {
      ar(cereal::make_nvp(name, v));
    } else {
      std::uint8_t raw = v ? 1 : 0;
      ar(raw);
      if constexpr (kLoading<A>) {
        if (raw > 1) throw DecodeError(current_path() + ": boolean byte " + std::to_string(raw) + " is not 0 or 1");
        v = raw != 0;
      }
    }
  } else if constexpr (std::is_enum_v<T>) {
    if constexpr (kText<A>) {
      std::string text;
      if constexpr (!kLoading<A>) text = enum_label(v);
      ar(cereal::make_nvp(name, text));
      if constexpr (kLoading<A>) {
        if (!enum_from_name(text, v))
          throw DecodeError(current_path() + ": unknown value \"" + text.substr(0, 64) + "\" (expected " +
                            enum_choices<T>() + ")");
      }
    } else {
      auto raw = static_cast<std::underlying_type_t<T>>(v);
      ar(raw);
      if constexpr (kLoading<A>) {
        if (!enum_from_raw(raw, v))
          throw DecodeError(current_path() + ": unknown value " + std::to_string(+raw) + " (expected " +
                            enum_choices<T>() + ")");
      }
    }
  } else if constexpr (std::is_integral_v<T> && sizeof(T) < 4 && kText<A>) {
    using Wide = std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>;
    Wide wide = v;
    ar(cereal::make_nvp(name, wide));
    if constexpr (kLoading<A>) {
      if (wide < static_cast<Wide>(std::numeric_limits<T>::min()) ||
          wide > static_cast<Wide>(std::numeric_limits<T>::max()))
        throw DecodeError(current_path() + ": " + std::to_string(wide) + " does not fit in " +
                          std::to_string(sizeof(T) * 8) + " bits");
      v = static_cast<T>(wide);
    }
  } else if constexpr (std::is_same_v<T, std::string> && !kText<A>) {
    auto size = static_cast<cereal::size_type>(v.size());
    ar(cereal::make_size_tag(size));
    if constexpr (kLoading<A>) {
      if (size > kMaxDecodedStringBytes)
        throw DecodeError(current_path() + ": declared string length " + std::to_string(size) +
                          " exceeds the decode limit of " + std::to_string(kMaxDecodedStringBytes));
      v.resize(static_cast<std::size_t>(size));
    }
    ar(cereal::binary_data(v.data(), static_cast<std::size_t>(size)));
  } else {
    ar(cereal::make_nvp(name, v));  // 32/64-bit integers, text strings, model structs
  }
}

template <class A, class T>
void field(A& ar, const char* name, T& v) {
  if constexpr (!kLoading<A>) {
    field_value(ar, name, v);
  } else {
    if (path_depth < kMaxPathDepth) path_stack[path_depth] = {name, -1};
    ++path_depth;
    try {
      field_value(ar, name, v);
    } catch (...) {
      if (failed_path.empty()) failed_path = current_path();
      --path_depth;
      throw;
    }
    --path_depth;
  }
}

// A vector whose declared length is checked before it is allocated.
template <class T>
struct BoundedVector {
  std::vector<T>* items;
  std::size_t max;
};

// A fixed-size array stored as a list (a JSON array, not an object).
template <class T, std::size_t N>
struct FixedList {
  std::array<T, N>* items;
};

// An optional stored as {present, value}: cereal's own optional stores its
// flag as a raw bool byte, which is undefined behaviour for a hostile byte.
template <class T>
struct CheckedOptional {
  std::optional<T>* item;
};

}  // namespace migclock::serialization::detail

namespace cereal {

template <class A, class T>
void save(A& ar, const migclock::serialization::detail::BoundedVector<T>& list) {
  ar(make_size_tag(static_cast<size_type>(list.items->size())));
  for (const auto& item : *list.items) ar(item);
}

template <class A, class T>
void load(A& ar, migclock::serialization::detail::BoundedVector<T>& list) {
  size_type size = 0;
  ar(make_size_tag(size));
  if (size > list.max)
    throw migclock::serialization::detail::DecodeError(migclock::serialization::detail::current_path() +
                                                       ": declared length " + std::to_string(size) +
                                                       " exceeds the limit of " + std::to_string(list.max));
  list.items->resize(static_cast<std::size_t>(size));
  for (std::size_t i = 0; i < list.items->size(); ++i) {
    migclock::serialization::detail::set_path_index(static_cast<long>(i));
    ar((*list.items)[i]);
  }
  migclock::serialization::detail::set_path_index(-1);
}

template <class A, class T, std::size_t N>
void save(A& ar, const migclock::serialization::detail::FixedList<T, N>& list) {
  ar(make_size_tag(static_cast<size_type>(N)));
  for (const auto& item : *list.items) ar(item);
}

template <class A, class T, std::size_t N>
void load(A& ar, migclock::serialization::detail::FixedList<T, N>& list) {
  size_type size = 0;
  ar(make_size_tag(size));
  if (size != N)
    throw migclock::serialization::detail::DecodeError(migclock::serialization::detail::current_path() + ": " +
                                                       std::to_string(size) + " entries, expected " +
                                                       std::to_string(N));
  for (std::size_t i = 0; i < N; ++i) {
    migclock::serialization::detail::set_path_index(static_cast<long>(i));
    ar((*list.items)[i]);
  }
  migclock::serialization::detail::set_path_index(-1);
}

template <class A, class T>
void serialize(A& ar, migclock::serialization::detail::CheckedOptional<T>& opt) {
  using migclock::serialization::detail::field;
  bool present = opt.item->has_value();
  field(ar, "present", present);
  if (!present) {
    if constexpr (migclock::serialization::detail::kLoading<A>) opt.item->reset();
    return;
  }
  if constexpr (migclock::serialization::detail::kLoading<A>) opt.item->emplace();
  field(ar, "value", **opt.item);
}

template <class A>
void serialize(A& ar, migclock::snapshot::VcpuClock& c, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("VcpuClock", version);
  field(ar, "id", c.id);
  field(ar, "tsc_offset", c.tsc_offset);
  field(ar, "tsc_offset_valid", c.tsc_offset_valid);
  field(ar, "msr_tsc", c.msr_tsc);
  field(ar, "msr_tsc_adjust", c.msr_tsc_adjust);
  field(ar, "msr_kvm_system_time", c.msr_kvm_system_time);
  field(ar, "msr_kvm_wall_clock", c.msr_kvm_wall_clock);
  field(ar, "msr_kvm_steal_time", c.msr_kvm_steal_time);
  field(ar, "tsc_khz", c.tsc_khz);
  field(ar, "tsc_scaling_ratio", c.tsc_scaling_ratio);
  field(ar, "tsc_scaling_frac_bits", c.tsc_scaling_frac_bits);
}

template <class A>
void serialize(A& ar, migclock::snapshot::KvmClock& c, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("KvmClock", version);
  field(ar, "clock_ns", c.clock_ns);
  field(ar, "flags", c.flags);
  field(ar, "realtime_ns", c.realtime_ns);
  field(ar, "host_tsc", c.host_tsc);
}

template <class A>
void serialize(A& ar, migclock::snapshot::Masterclock& m, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("Masterclock", version);
  field(ar, "state", m.state);
  field(ar, "evidence", m.evidence);
}

template <class A>
void serialize(A& ar, migclock::snapshot::PitChannel& c, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("PitChannel", version);
  field(ar, "count", c.count);
  field(ar, "latched_count", c.latched_count);
  field(ar, "count_latched", c.count_latched);
  field(ar, "status_latched", c.status_latched);
  field(ar, "status", c.status);
  field(ar, "read_state", c.read_state);
  field(ar, "write_state", c.write_state);
  field(ar, "write_latch", c.write_latch);
  field(ar, "rw_mode", c.rw_mode);
  field(ar, "mode", c.mode);
  field(ar, "bcd", c.bcd);
  field(ar, "gate", c.gate);
  field(ar, "count_load_time", c.count_load_time);
}

template <class A>
void serialize(A& ar, migclock::snapshot::PitState& p, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("PitState", version);
  field(ar, "present", p.present);
  migclock::serialization::detail::FixedList<migclock::snapshot::PitChannel, 3> channels{&p.channels};
  field(ar, "channels", channels);
  field(ar, "flags", p.flags);
}

template <class A>
void serialize(A& ar, migclock::snapshot::RtcState& r, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("RtcState", version);
  field(ar, "present", r.present);
  field(ar, "date_unix_s", r.date_unix_s);
  field(ar, "source", r.source);
}

template <class A>
void serialize(A& ar, migclock::snapshot::VmIdentity& vm, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("VmIdentity", version);
  field(ar, "uuid", vm.uuid);
  field(ar, "name", vm.name);
}

template <class A>
void serialize(A& ar, migclock::snapshot::HostFacts& h, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  using migclock::serialization::detail::kHostFactsClassVersion;
  migclock::serialization::detail::check_class_version("HostFacts", version, kHostFactsClassVersion);
  field(ar, "hostname", h.hostname);
  field(ar, "boot_id", h.boot_id);
  field(ar, "tsc_khz", h.tsc_khz);
  field(ar, "clocksource", h.clocksource);
  field(ar, "scaling_supported", h.scaling_supported);
  field(ar, "offset_honoured", h.offset_honoured);
  if (version >= 2) {
    field(ar, "tsc_khz_source", h.tsc_khz_source);
    field(ar, "kvm", h.kvm);
  } else if constexpr (migclock::serialization::detail::kLoading<A>) {
    // Format 1.0 did not say; it required a frequency, which only KVM gave.
    h.tsc_khz_source = migclock::snapshot::TscKhzSource::unrecorded;
    h.kvm = migclock::snapshot::KvmPresence::unrecorded;
  }
}

template <class A>
void serialize(A& ar, migclock::snapshot::CaptureTimes& t, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("CaptureTimes", version);
  field(ar, "realtime_ns", t.realtime_ns);
  field(ar, "monotonic_raw_ns", t.monotonic_raw_ns);
}

template <class A>
void serialize(A& ar, migclock::snapshot::GuestTime& g, const std::uint32_t version) {
  using migclock::serialization::detail::field;
  migclock::serialization::detail::check_class_version("GuestTime", version);
  field(ar, "guest_ns", g.guest_ns);
  field(ar, "host_mid_ns", g.host_mid_ns);
  field(ar, "rtt_ns", g.rtt_ns);
}

// The Snapshot's fields, shared by serialize() and the JSON root (which
// writes them at top level next to the format keys).
template <class A>
void snapshot_fields(A& ar, migclock::snapshot::Snapshot& s) {
  using migclock::serialization::detail::field;
  field(ar, "vm", s.vm);
  field(ar, "host", s.host);
  field(ar, "captured", s.captured);
  field(ar, "source", s.source);
  field(ar, "software_version", s.software_version);
  field(ar, "clock", s.clock);
  field(ar, "masterclock", s.masterclock);
  migclock::serialization::detail::BoundedVector<migclock::snapshot::VcpuClock> vcpus{
      &s.vcpus, migclock::serialization::detail::kMaxDecodedVcpus};
  field(ar, "vcpus", vcpus);
  field(ar, "pit", s.pit);
  field(ar, "rtc", s.rtc);
  migclock::serialization::detail::CheckedOptional<migclock::snapshot::GuestTime> guest_time{&s.guest_time};
  field(ar, "guest_time", guest_time);
}

template <class A>
void serialize(A& ar, migclock::snapshot::Snapshot& s, const std::uint32_t version) {
  migclock::serialization::detail::check_class_version("Snapshot", version);
  snapshot_fields(ar, s);
}

}  // namespace cereal

CEREAL_CLASS_VERSION(migclock::snapshot::VcpuClock, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::KvmClock, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::Masterclock, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::PitChannel, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::PitState, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::RtcState, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::VmIdentity, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::HostFacts, 2)
CEREAL_CLASS_VERSION(migclock::snapshot::CaptureTimes, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::GuestTime, 1)
CEREAL_CLASS_VERSION(migclock::snapshot::Snapshot, 1)
