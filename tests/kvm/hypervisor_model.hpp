// A model of a KVM that honours TSC offsets - which this PVM host does not -
// following the kernel's documented semantics exactly, so the restore code
// can run end-to-end against it (tests named *ModelTest*):
//   host_tsc(t)  = host_tsc_at_zero + t * host_khz / 1e6
//   guest_tsc(t) = (host_tsc(t) * ratio >> frac_bits) + offset  (mod 2^64)
//     (devices/vcpu.rst KVM_VCPU_TSC_OFFSET; ratio = khz << frac / host_khz
//      after KVM_SET_TSC_KHZ, api.rst)
//   KVM_GET_CLOCK -> clock, realtime and host_tsc at one instant, flags
//     TSC_STABLE | REALTIME | HOST_TSC (masterclock on)
//   KVM_SET_CLOCK with KVM_CLOCK_REALTIME adds (now_realtime - realtime)
//     when positive, never subtracts (api.rst KVM_SET_CLOCK)
//   a host-initiated MSR_IA32_TSC write sets offset = value - scaled host TSC
// Every operation advances model time (ioctls take time), so the restore is
// checked with the clock moving underneath it, as on real hardware.
#pragma once

#include <cstdint>
#include <vector>

#include "migclock/common/time_source.hpp"
#include "migclock/kvm/clock_target.hpp"
#include "migclock/kvm/msr.hpp"
#include "migclock/snapshot/snapshot.hpp"

namespace migclock::kvm::model {

class ModelHypervisor final : public ClockTarget, public TimeSource {
 public:
  struct Vcpu {
    TscScale scale = TscScale::identity();
    uint64_t offset = 0;
    uint32_t khz = 0;
    uint64_t system_time_msr = 0;
    uint64_t wall_clock_msr = 0;
    uint64_t steal_time_msr = 0;
    uint64_t tsc_adjust = 0;
  };

  ModelHypervisor(uint32_t host_khz, uint64_t host_tsc_at_zero, int64_t realtime_at_zero, size_t vcpus,
                  bool scaling = true)
      : host_khz_(host_khz), host_tsc_at_zero_(host_tsc_at_zero), realtime_at_zero_(realtime_at_zero),
        scaling_(scaling), vcpus_(vcpus) {
    for (auto& v : vcpus_) v.khz = host_khz;
  }

  // Model time since "zero", in ns.
  int64_t now_ns() const { return t_ns_; }
  void advance_ns(int64_t ns) const { t_ns_ += ns; }
  int64_t op_cost_ns = 5'000;  // each ioctl: ~the PVM vCPU ioctl cost

  uint64_t host_tsc() const {
    return host_tsc_at_zero_ + static_cast<uint64_t>(static_cast<__int128>(t_ns_) * host_khz_ / 1'000'000);
  }
  uint64_t guest_tsc(size_t i) const { return guest_tsc_at(host_tsc(), vcpus_[i].scale, vcpus_[i].offset); }
  uint64_t kvmclock_ns() const { return static_cast<uint64_t>(kvmclock_offset_ + t_ns_); }
  Vcpu& vcpu(size_t i) { return vcpus_[i]; }
  const Vcpu& vcpu(size_t i) const { return vcpus_[i]; }
  void set_kvmclock(uint64_t ns) { kvmclock_offset_ = static_cast<int64_t>(ns) - t_ns_; }

  // What kvm::capture() reads from a real VM, read from the model at one instant.
  snapshot::Snapshot capture() const;

  // TimeSource
  int64_t realtime_ns() const override { return realtime_at_zero_ + t_ns_; }
  int64_t monotonic_raw_ns() const override { return t_ns_; }

  // ClockTarget
  size_t vcpu_count() const override { return vcpus_.size(); }
  bool guest_has_run() const override { return has_run_; }
  bool has_run_ = false;
  bool scaling_supported() const override { return scaling_; }
  Result<uint32_t> tsc_khz() const override { return host_khz_; }
  Result<kvm_clock_data> get_clock() const override;
  Status set_clock(const kvm_clock_data& data) override;
  Status set_vcpu_tsc_khz(size_t i, uint32_t khz) override;
  Result<TscScale> vcpu_scale(size_t i) const override { return vcpus_[i].scale; }
  Status set_msrs(size_t i, const uint32_t* indices, const uint64_t* values, size_t count) override;
  Status get_msrs(size_t i, const uint32_t* indices, uint64_t* values, size_t count) const override;
  Status set_tsc_offset(size_t i, uint64_t offset) override {
    tick();
    vcpus_[i].offset = offset;
    return {};
  }
  Result<uint64_t> get_tsc_offset(size_t i) const override {
    tick();
    return vcpus_[i].offset;
  }
  bool has_pit() const override { return true; }
  // KVM_SET_PIT2 as arch/x86/kvm/i8254.c does it: every channel's count is
  // reloaded at the call (pit_load_count); channels 1-2 get
  // count_load_time = now, channel 0 keeps the value written but counts
  // from a restarted hrtimer.
  Status set_pit(const kvm_pit_state2& pit) override {
    tick();
    pit_ = pit;
    for (int i = 1; i < 3; ++i) pit_.channels[i].count_load_time = t_ns_;
    return {};
  }
  Result<kvm_pit_state2> get_pit() const override {
    tick();
    return pit_;
  }
  Status kvmclock_ctrl(size_t i) override {
    tick();
    if (!(vcpus_[i].system_time_msr & 1)) return errno_error(EINVAL, "KVM_KVMCLOCK_CTRL");
    return {};
  }
  int64_t monotonic_now_ns() const override { return t_ns_; }
  uint64_t host_tsc_now() const override { return host_tsc(); }
  const kvm_pit_state2& pit() const { return pit_; }

 private:
  void tick() const { t_ns_ += op_cost_ns; }

  uint32_t host_khz_;
  uint64_t host_tsc_at_zero_;
  int64_t realtime_at_zero_;
  bool scaling_;
  std::vector<Vcpu> vcpus_;
  mutable int64_t t_ns_ = 0;
  int64_t kvmclock_offset_ = 0;
  kvm_pit_state2 pit_{};
};

}  // namespace migclock::kvm::model
