#include "migclock/agent/sync_verdict.hpp"

#include <cstdio>
#include <cstdlib>

namespace migclock::agent {

namespace {
std::string us(int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f us", static_cast<double>(ns) / 1e3);
  return b;
}
}  // namespace

void judge_sync(SyncOutcome& o, const VerdictLimits& limits) {
  o.verdict = SyncVerdict::none;
  o.verdict_reason.clear();
  o.residual_threshold_ns = limits.residual_threshold_ns;
  o.uncertainty_limit_ns = limits.uncertainty_limit_ns;
  if (!o.ok || o.cancelled) return;
  if (!o.residual_ns()) {
    o.verdict = SyncVerdict::degraded;
    o.verdict_reason = "no final measurement";
    return;
  }
  // Relative to the target (a guest meant to run an hour ahead is judged
  // against that hour).
  const int64_t residual = *o.residual_ns();
  const bool within = std::llabs(residual) <= limits.residual_threshold_ns;
  const int64_t uncertainty = o.uncertainty_ns();
  const bool certain = uncertainty <= limits.uncertainty_limit_ns;
  const std::string numbers =
      "residual " + us(residual) + " +- " + us(uncertainty) + " (asymmetry bound" +
      (o.target_uncertainty_ns != 0 ? " + target " + us(o.target_uncertainty_ns) : std::string()) + "; scatter " +
      us(o.statistical_ns) + ")";
  if (within && certain) {
    o.verdict = SyncVerdict::verified;
    o.verdict_reason = numbers + " within " + us(limits.residual_threshold_ns);
    return;
  }
  o.verdict = SyncVerdict::degraded;
  o.verdict_reason = numbers + ":";
  if (!within) o.verdict_reason += " |residual| above the threshold " + us(limits.residual_threshold_ns) + ";";
  if (!certain)
    o.verdict_reason += " uncertainty above the limit " + us(limits.uncertainty_limit_ns) +
                        " (the measurement cannot show the threshold);";
  o.verdict_reason.pop_back();
}

}  // namespace migclock::agent
