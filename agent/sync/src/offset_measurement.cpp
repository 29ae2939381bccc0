#include "migclock/agent_sync/offset_measurement.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "migclock/agent_sync/qga_json.hpp"

namespace migclock::agent_sync {

namespace {

// Median of a non-empty vector (the mean of the middle two for even sizes).
int64_t median_of(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

}  // namespace

Result<OffsetEstimate> estimate_offset(std::vector<ClockSample> samples, std::size_t keep) {
  if (samples.empty()) return make_error(errc::invalid_argument, "estimate_offset: no samples");
  if (keep == 0) return make_error(errc::invalid_argument, "estimate_offset: keep must be at least 1");
  for (const auto& s : samples) {
    if (s.rtt_ns() < 0) return make_error(errc::invalid_argument, "estimate_offset: a sample ends before it starts");
  }
  OffsetEstimate est;
  est.samples_taken = samples.size();
  for (const auto& s : samples) est.measured_at_host_ns = std::max(est.measured_at_host_ns, s.host_after_ns);

  std::stable_sort(samples.begin(), samples.end(),
                   [](const ClockSample& a, const ClockSample& b) { return a.rtt_ns() < b.rtt_ns(); });
  samples.resize(std::min(keep, samples.size()));
  est.samples_kept = samples.size();

  std::vector<int64_t> offsets, rtts;
  for (const auto& s : samples) {
    offsets.push_back(s.offset_ns());
    rtts.push_back(s.rtt_ns());
  }
  est.median_offset_ns = median_of(offsets);
  est.median_rtt_ns = median_of(rtts);
  est.min_rtt_ns = rtts.front();
  auto [lo, hi] = std::minmax_element(offsets.begin(), offsets.end());
  est.spread_ns = *hi - *lo;
  est.asymmetry_bound_ns = est.min_rtt_ns / 2;

  std::vector<int64_t> deviations;
  for (int64_t o : offsets) deviations.push_back(o > est.median_offset_ns ? o - est.median_offset_ns : est.median_offset_ns - o);
  const double mad = static_cast<double>(median_of(deviations));
  est.statistical_ns = static_cast<int64_t>(std::llround(1.4826 * mad / std::sqrt(static_cast<double>(offsets.size()))));
  return est;
}

Result<ClockSample> sample_guest_clock(GuestAgentChannel& channel, const TimeSource& time,
                                       std::chrono::milliseconds timeout) {
  static const std::string cmd = guest_get_time_command();
  ClockSample s;
  s.host_before_ns = time.realtime_ns();
  auto reply = channel.command(cmd, timeout);
  s.host_after_ns = time.realtime_ns();
  if (!reply) return reply.error();
  auto guest = parse_int_return(*reply, "guest-get-time");
  if (!guest) return guest.error();
  s.guest_ns = *guest;
  return s;
}

Result<OffsetEstimate> measure_offset(GuestAgentChannel& channel, const TimeSource& time,
                                      const MeasureOptions& options) {
  if (options.samples == 0) return make_error(errc::invalid_argument, "measure_offset: samples must be at least 1");
  const std::size_t most = std::max(options.samples, options.max_samples);
  std::vector<ClockSample> samples;
  samples.reserve(most);
  int64_t min_rtt_ns = INT64_MAX;
  const int64_t started_ns = time.monotonic_raw_ns();
  const int64_t budget_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options.budget).count();
  for (std::size_t i = 0; i < most; ++i) {
    if (i >= options.samples &&
        (min_rtt_ns / 2 <= options.stop_bound_ns || time.monotonic_raw_ns() - started_ns >= budget_ns))
      break;
    auto s = sample_guest_clock(channel, time, options.command_timeout);
    if (!s) return s.error();
    min_rtt_ns = std::min(min_rtt_ns, s->rtt_ns());
    samples.push_back(*s);
  }
  return estimate_offset(std::move(samples), options.keep);
}

}  // namespace migclock::agent_sync
