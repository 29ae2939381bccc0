// The verdict on one finished sync, from its own final measurement: a sync
// is never reported better than that measurement can show. `verified` needs
// both a residual within the threshold and an uncertainty (the asymmetry
// bound, min RTT / 2: the true offset lies within it whatever the channel's
// asymmetry) within the stated limit; anything else is `degraded`, with the
// numbers in the reason. The judgement through the correcting channel can
// still hide a fixed bias inside that bound: independent figures come from
// the time probe (docs/benchmarks.md), never from here. The residual is
// relative to the sync's target, so the target's own uncertainty (a
// continuity target is itself a measurement) adds to the measurement's.
#pragma once

#include <cstdint>
#include <string>

#include "migclock/agent/sync_types.hpp"

namespace migclock::agent {

struct VerdictLimits {
  int64_t residual_threshold_ns = 50'000;
  int64_t uncertainty_limit_ns = 100'000;
};

// Fills o.verdict and o.verdict_reason (a failed or cancelled sync gets
// none: it is reported as the failure it is).
void judge_sync(SyncOutcome& o, const VerdictLimits& limits);

}  // namespace migclock::agent
