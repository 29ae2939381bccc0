#pragma once
// Which of a host's recent clock-offset measurements to stand behind.
//
// Each heartbeat measures θ = controller − host NTP-style (8 exchanges, the
// lowest RTT kept): its error is at most RTT/2. One heartbeat on a loaded
// host can still see every exchange delayed (RTT of 100+ ms), and taking
// only the latest would hand that ±50 ms to the next migration's
// continuity target. An older, tighter measurement is better as long as
// (a) it is aged honestly - the two clocks drift apart by at most
// kOffsetDriftPpm while nothing is measured - and (b) nothing stepped
// either clock since: the latest measurement must lie within the older
// one's aged interval widened by its own, else everything before it is
// out of date.
#include <cstdint>
#include <optional>
#include <vector>

#include "migclock/controller/model.hpp"

namespace migclock::controller {

// A crystal without NTP keeps within ±100 ppm; hosts and a controller kept
// by NTP/chrony within a few ppm. 50 ppm ages a 10 s old measurement by
// 0.5 ms: conservative for disciplined hosts, not hopeless for others.
constexpr int64_t kOffsetDriftPpm = 50;

// The measurement of `history` (oldest first, as Core keeps it) with the
// smallest aged uncertainty at `now_ns` (controller clock), its
// uncertainty_ns replaced by the aged figure. Empty history: std::nullopt.
std::optional<ClockOffset> best_offset(const std::vector<ClockOffset>& history, int64_t now_ns);

}  // namespace migclock::controller
