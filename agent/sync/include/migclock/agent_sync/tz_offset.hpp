// UTC offsets from the tz database without touching the process's TZ.
//
// localtime_r answers for the process-wide TZ only. Switching it
// (setenv("TZ") + tzset) in the multithreaded agent would race every other
// thread's localtime/mktime, libvirt's included, so a named zone is read
// from its TZif file (RFC 8536) under /usr/share/zoneinfo instead: the same
// data glibc uses when libvirt starts QEMU with TZ=<zone> for
// <clock offset='timezone'>. The host's own offset comes from localtime_r.
#pragma once

#include <cstdint>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::agent_sync {

// Seconds east of UTC at `unix_s` from TZif bytes: the transition table
// (64-bit data of version 2+ files, else the 32-bit one), past its end the
// footer's POSIX TZ string when it has no DST rule. A footer with DST rules
// past the table's end (Debian's "fat" files list transitions up to 2037) is
// errc::not_supported rather than a guess. errc::malformed_input for bytes
// that are not TZif.
Result<int64_t> tzif_utc_offset(const std::string& tzif, int64_t unix_s);

// The same for zone `zone` (e.g. "Europe/Paris") under `zoneinfo_dir`.
// errc::invalid_argument for names that are not tz names (absolute, "..",
// odd characters), errc::not_found when the file is missing.
Result<int64_t> zone_utc_offset(const std::string& zone, int64_t unix_s,
                                const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

// The host's local time's offset (localtime_r's tm_gmtoff).
Result<int64_t> host_utc_offset(int64_t unix_s);

// host_utc_offset for an empty zone, else zone_utc_offset: an
// agent_sync::UtcOffsetFn (clock_target.hpp).
Result<int64_t> system_utc_offset(const std::string& zone, int64_t unix_s);

}  // namespace migclock::agent_sync
