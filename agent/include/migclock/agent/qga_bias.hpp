// qemu-ga's measurement asymmetry on this host, learned against the guest
// companion (issue 10: "learn and remove the channel's fixed asymmetry").
//
// An NTP-style exchange reads the offset high by half the difference of its
// two one-way delays. For the companion (a few lines of C++ reading one
// line and writing one) that difference is small: the independent time
// probe judged its syncs at 12-15 us median. For qemu-ga it is not: the
// request is parsed as JSON and dispatched through GLib's main loop before
// the guest reads its clock, and the judge saw qemu-ga-synced guests
// 0.35-1.0 ms further behind than the agent believed.
//
// Right after a companion sync of a guest that also runs qemu-ga, the agent
// measures the guest through qemu-ga too: the difference d is qemu-ga's
// bias at that moment. Measured here (real libvirt, TCG guests), d grew
// with qemu-ga's own asymmetry bound B (min RTT/2) and B - d stayed near
// 0.3-0.4 ms: what varies sits on the request path, the reply path is
// close to constant. So what is learned is that reply path, r = B - d (the
// median of recent samples), and a qemu-ga-only sync removes B' - r from a
// measurement whose bound is B' (SyncOptions::channel_reply_path_ns).
// Host-wide, not per guest: guests without the companion are the ones that
// need it, and the path is the host's stack (libvirt, QEMU, virtio-serial).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace migclock::agent {

class QgaBias {
 public:
  static constexpr std::size_t kKept = 32;       // the most recent samples
  static constexpr std::size_t kMinSamples = 3;  // before any is used

  struct Estimate {
    int64_t reply_path_ns = 0;  // median of r = B - d over the kept samples
    int64_t spread_ns = 0;      // their median absolute deviation
    std::size_t samples = 0;
  };

  // One comparison: qemu-ga's offset minus the companion's (d), measured
  // back to back, and qemu-ga's asymmetry bound B. Not kept: a d outside
  // [-companion_bound, B + companion_bound] (impossible for one clock: the
  // guest's clock moved between the two measurements), and a B above
  // `max_bound_ns` (a busy moment says more about itself than the channel).
  // Returns whether it was kept.
  bool record(int64_t qga_minus_companion_ns, int64_t qga_bound_ns, int64_t companion_bound_ns,
              int64_t max_bound_ns = 2'000'000);
  std::optional<Estimate> estimate() const;
  std::size_t samples() const;

 private:
  mutable std::mutex mu_;
  std::deque<int64_t> reply_paths_;
};

}  // namespace migclock::agent
