// ClockTarget: the destination operations a restore performs, as an
// interface, so the same restore code drives the real KVM (KvmClockTarget)
// and, in the model tests, a model of a hypervisor that honours TSC offsets
// (which this PVM host does not).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "migclock/kvm/restore_plan.hpp"
#include "migclock/kvm/vm.hpp"

namespace migclock::kvm {

class ClockTarget {
 public:
  virtual ~ClockTarget() = default;
  virtual size_t vcpu_count() const = 0;
  // Whether any vCPU of the destination has run. Until one has, no guest
  // has seen its kvmclock, so its pre-restore value (just the VM's age) is
  // no floor for the restore.
  virtual bool guest_has_run() const = 0;
  virtual bool scaling_supported() const = 0;
  virtual Result<uint32_t> tsc_khz() const = 0;  // the VM's default guest rate
  virtual Result<kvm_clock_data> get_clock() const = 0;
  virtual Status set_clock(const kvm_clock_data& data) = 0;
  virtual Status set_vcpu_tsc_khz(size_t vcpu, uint32_t khz) = 0;
  virtual Result<TscScale> vcpu_scale(size_t vcpu) const = 0;
  virtual Status set_msrs(size_t vcpu, const uint32_t* indices, const uint64_t* values, size_t count) = 0;
  virtual Status get_msrs(size_t vcpu, const uint32_t* indices, uint64_t* values, size_t count) const = 0;
  virtual Status set_tsc_offset(size_t vcpu, uint64_t offset) = 0;
  virtual Result<uint64_t> get_tsc_offset(size_t vcpu) const = 0;
  virtual bool has_pit() const = 0;
  virtual Status set_pit(const kvm_pit_state2& pit) = 0;
  virtual Result<kvm_pit_state2> get_pit() const = 0;
  virtual Status kvmclock_ctrl(size_t vcpu) = 0;
  virtual int64_t monotonic_now_ns() const = 0;  // the PIT's clock (CLOCK_MONOTONIC)
  virtual uint64_t host_tsc_now() const = 0;     // only when KVM_GET_CLOCK has no host_tsc
};

// The real destination: a VM and its vCPUs owned by this process.
class KvmClockTarget final : public ClockTarget {
 public:
  enum class State { fresh, has_run };
  KvmClockTarget(const Vm& vm, const std::vector<Vcpu>& vcpus, bool scaling_supported, bool has_pit,
                 State state = State::fresh)
      : vm_(vm), vcpus_(vcpus), scaling_supported_(scaling_supported), has_pit_(has_pit), state_(state) {}

  size_t vcpu_count() const override { return vcpus_.size(); }
  bool guest_has_run() const override { return state_ == State::has_run; }
  bool scaling_supported() const override { return scaling_supported_; }
  Result<uint32_t> tsc_khz() const override { return vm_.get_tsc_khz(); }
  Result<kvm_clock_data> get_clock() const override { return vm_.get_clock(); }
  Status set_clock(const kvm_clock_data& data) override { return vm_.set_clock(data); }
  Status set_vcpu_tsc_khz(size_t vcpu, uint32_t khz) override { return vcpus_[vcpu].set_tsc_khz(khz); }
  Result<TscScale> vcpu_scale(size_t vcpu) const override;
  Status set_msrs(size_t vcpu, const uint32_t* indices, const uint64_t* values, size_t count) override {
    return vcpus_[vcpu].set_msrs(indices, values, count);
  }
  Status get_msrs(size_t vcpu, const uint32_t* indices, uint64_t* values, size_t count) const override {
    return vcpus_[vcpu].get_msrs(indices, values, count);
  }
  Status set_tsc_offset(size_t vcpu, uint64_t offset) override { return vcpus_[vcpu].set_tsc_offset(offset); }
  Result<uint64_t> get_tsc_offset(size_t vcpu) const override { return vcpus_[vcpu].get_tsc_offset(); }
  bool has_pit() const override { return has_pit_; }
  Status set_pit(const kvm_pit_state2& pit) override { return vm_.set_pit2(pit); }
  Result<kvm_pit_state2> get_pit() const override { return vm_.get_pit2(); }
  Status kvmclock_ctrl(size_t vcpu) override { return vcpus_[vcpu].kvmclock_ctrl(); }
  int64_t monotonic_now_ns() const override;
  uint64_t host_tsc_now() const override;

 private:
  const Vm& vm_;
  const std::vector<Vcpu>& vcpus_;
  bool scaling_supported_;
  bool has_pit_;
  State state_;
};

}  // namespace migclock::kvm
