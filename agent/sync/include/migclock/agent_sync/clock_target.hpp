// Where a sync puts the guest's clock: the target offset (guest − host
// CLOCK_REALTIME) and where it came from. The sync (clock_sync.hpp) steps
// the guest to this offset, judges its residual against it, and applies the
// backward-step policy relative to it.
//
// Two modes, per VM (agent config `sync_target`):
//   domain_clock  the offset the domain's <clock> defines (libvirt's live
//                 XML): utc 0; localtime the host's UTC offset; timezone that
//                 zone's UTC offset; variable `adjustment` (+ the host's UTC
//                 offset for basis='localtime'); absolute has no offset the
//                 agent can know (fixed at boot), so it falls back to
//                 continuity.
//   continuity    the guest's own offset to its host before the pause: from
//                 a measurement taken before the pause (snapshot guest_time),
//                 or from the pause itself: a paused QEMU guest's clock stands
//                 still, so it comes back behind by exactly the time it was
//                 paused, and target = offset measured at resume + paused time.
//
// Assumption (documented in docs/agent.md): the guest OS reads its RTC as
// UTC (Linux's default), so an RTC offset of N s is a system clock N s
// ahead of UTC. A guest reading its RTC as local time (Windows' default)
// keeps UTC in its system clock whatever the RTC says; use continuity.
//
// Everything here is pure: the UTC offset of a zone is injected.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::agent_sync {

enum class TargetMode {
  domain_clock,  // default
  continuity,
};
const char* to_string(TargetMode m);
Result<TargetMode> parse_target_mode(const std::string& text);  // "domain_clock" | "continuity"

// The domain's <clock> as libvirt states it in the live XML. libvirt turns
// utc/localtime with a numeric `adjustment` into offset='variable' there,
// and rewrites `adjustment` whenever the guest writes its RTC (QEMU's
// RTC_CHANGE event; qemu-ga's guest-set-time runs `hwclock -w`), so the
// live XML is the domain's current intent.
struct DomainClock {
  enum class Offset { utc, localtime, timezone, variable, absolute };
  Offset offset = Offset::utc;
  int64_t adjustment_s = 0;       // variable; also a numeric adjustment on utc/localtime
  bool basis_localtime = false;   // variable basis='localtime'
  std::string timezone;           // offset='timezone'
  std::optional<int64_t> start_s;  // offset='absolute'
};
const char* to_string(DomainClock::Offset o);

// The <clock …> element (verbatim, e.g. DomainRecord::clock_xml). An empty
// string is libvirt's default, utc. Unknown offsets are errors.
Result<DomainClock> parse_domain_clock(const std::string& clock_element);

struct ClockTarget {
  // guest − host the sync aims at. When `relative_to_measured`, it is added
  // to the sync's first measurement instead (the blackout a frozen guest
  // clock missed): the target is then only known once the guest answers.
  int64_t offset_ns = 0;
  bool relative_to_measured = false;
  // ± where the target itself lies (the sync adds its first measurement's
  // asymmetry bound for a relative target).
  int64_t uncertainty_ns = 0;
  std::string source = "host UTC (default)";
  // For a relative target (a paused clock): the guest's offset after its
  // last sync, if known. A guest whose clock did not stand still (under KVM
  // a TSC clocksource keeps counting through a plain pause; only kvmclock is
  // saved and restored) reads at resume about this, not this − the pause;
  // the sync then takes the measurement itself as the target rather than
  // adding the pause twice.
  std::optional<int64_t> last_known_offset_ns;
};

// Seconds east of UTC at `unix_s`: of the host's local time when `zone` is
// empty, else of that tz database zone.
using UtcOffsetFn = std::function<Result<int64_t>(const std::string& zone, int64_t unix_s)>;

// The domain_clock target. errc::not_supported for offset='absolute' (the
// caller falls back to continuity, or measures only).
Result<ClockTarget> domain_clock_target(const DomainClock& clock, int64_t host_realtime_ns, const UtcOffsetFn& utc_offset);

// Continuity from a pre-pause measurement on the source host:
// `guest_minus_source_ns` (± measurement_uncertainty_ns), and this host's
// CLOCK_REALTIME − the source's (± host_offset_uncertainty_ns; 0 and 0 on
// the same host). The guest kept running at real-time rate had the blackout
// not happened, so its offset to this host is the old one minus the hosts'.
ClockTarget continuity_from_measurement(int64_t guest_minus_source_ns, int64_t measurement_uncertainty_ns,
                                        int64_t host_offset_ns, int64_t host_offset_uncertainty_ns,
                                        std::string source);

// Continuity from the pause: the guest's clock stood still for `paused_ns`
// (± uncertainty_ns), so its offset before the pause is the one measured at
// resume plus that.
ClockTarget continuity_from_pause(int64_t paused_ns, int64_t uncertainty_ns, std::string source);

// A relative target resolved against the first measurement `measured_ns`
// (see last_known_offset_ns): the offset the sync aims at, and a note when
// the clock is found to have kept running.
struct ResolvedTarget {
  int64_t offset_ns = 0;
  std::string note;
};
ResolvedTarget resolve_target(const ClockTarget& t, int64_t measured_ns);

}  // namespace migclock::agent_sync
