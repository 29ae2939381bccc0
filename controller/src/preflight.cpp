// Preflight: can this VM move from source to destination with its clocks
// intact? Every check is reported, passed or not, with its numbers.
#include <cmath>
#include <mutex>

#include "migclock/controller/core.hpp"

namespace migclock::controller {


namespace {
constexpr double kTscTolerancePpm = 250.0;
std::string ms(int64_t ns) {
  char b[64];
  snprintf(b, sizeof b, "%.3f ms", static_cast<double>(ns) / 1e6);
  return b;
}
}  // namespace

PreflightResult Core::preflight(const std::string& vm_key, const std::string& source, const std::string& destination,
                                int64_t now) const {
  std::shared_lock lock(mutex_);
  PreflightResult out;
  const Host& src = hosts_.at(source);
  const Host& dst = hosts_.at(destination);
  auto add = [&](std::string name, bool ok, std::string detail) {
    out.checks.push_back(PreflightCheck{std::move(name), ok, std::move(detail)});
  };
  if (const Vm* v = find_vm_locked(vm_key)) {
    out.vm_uuid = v->uuid;
    out.vm_name = v->name;
    add("vm_on_source", v->host == source,
        v->host == source ? "VM " + v->name + " is on " + source
                          : "VM " + v->name + " is reported on '" + v->host + "', not on " + source);
  } else {
    add("vm_on_source", false, "no agent reports a VM '" + vm_key + "'");
  }
  for (const Host* h : {&src, &dst}) {
    int64_t age = now - h->last_seen_ns;
    add("host_alive:" + h->hostname, age <= options_.host_stale_ns,
        "last heartbeat " + std::to_string(age / 1'000'000'000) + " s ago");
  }
  if (src.tsc_khz == 0 || dst.tsc_khz == 0) {
    add("tsc_frequency", false, "TSC frequency unknown on " + std::string(src.tsc_khz == 0 ? source : destination));
  } else {
    double ppm = (static_cast<double>(dst.tsc_khz) - src.tsc_khz) / src.tsc_khz * 1e6;
    bool within = std::fabs(ppm) <= kTscTolerancePpm;
    char b[256];
    snprintf(b, sizeof b, "source %u kHz, destination %u kHz (%+.1f ppm; limit ±%.0f ppm%s)", src.tsc_khz,
             dst.tsc_khz, ppm, kTscTolerancePpm,
             within ? "" : (dst.scaling_supported ? "; destination scales the TSC" : "; destination cannot scale"));
    add("tsc_frequency", within || dst.scaling_supported, b);
  }
  add("invtsc", src.invtsc == "yes" && dst.invtsc == "yes",
      "invariant TSC: source " + src.invtsc + ", destination " + dst.invtsc);
  add("masterclock_destination", dst.masterclock_possible,
      dst.masterclock_possible ? "destination can run the KVM masterclock"
                               : "destination cannot run the KVM masterclock (clocksource " + dst.clocksource + ")");
  add("offset_writes_honoured", dst.offset_honoured == "yes",
      "destination honours TSC offset writes: " + dst.offset_honoured);
  auto off = host_offset_locked(source, destination);
  if (off) {
    int64_t age = now - off->measured_at_ns;
    bool fresh = age <= options_.offset_max_age_ns;
    add("realtime_offset", fresh,
        "destination − source = " + ms(off->offset_ns) + " ± " + ms(off->uncertainty_ns) + ", measured " +
            std::to_string(age / 1'000'000'000) + " s ago" + (fresh ? "" : " (too old)"));
    out.offset = off.value();
  } else {
    add("realtime_offset", false, off.error().context);
  }
  out.compatible = true;
  for (const auto& c : out.checks) out.compatible = out.compatible && c.ok;
  return out;
}

Result<PreflightResult> Core::preflight_checked(const std::string& vm, const std::string& source,
                                                      const std::string& destination) const {
  {
    std::shared_lock lock(mutex_);
    if (!hosts_.count(source)) return make_error(errc::not_found, "source host '" + source + "' is not registered", "source");
    if (!hosts_.count(destination))
      return make_error(errc::not_found, "destination host '" + destination + "' is not registered", "destination");
  }
  return preflight(vm, source, destination, time_.realtime_ns());
}

}  // namespace migclock::controller
