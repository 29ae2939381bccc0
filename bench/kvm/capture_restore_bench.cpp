// Capture and restore cost against their floor: the bare ioctls each needs,
// issued back to back on the same VM, in the same run.
//   capture floor: KVM_GET_CLOCK, KVM_GET_TSC_KHZ (VM), KVM_GET_PIT2,
//                  per vCPU one 5-MSR KVM_GET_MSRS + one KVM_GET_DEVICE_ATTR
//   restore floor: KVM_GET_TSC_KHZ (VM), KVM_GET_CLOCK, per vCPU one
//                  4-MSR KVM_SET_MSRS, KVM_SET_CLOCK, KVM_GET_CLOCK, per vCPU
//                  KVM_SET_DEVICE_ATTR, KVM_SET_PIT2, per vCPU KVM_KVMCLOCK_CTRL
// Target (issue #2): capture and restore each within 1.2x of its floor.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>

#include "migclock/kvm/capture.hpp"
#include "migclock/kvm/clock_guest.hpp"
#include "migclock/kvm/host_facts.hpp"
#include "migclock/kvm/msr.hpp"
#include "migclock/kvm/restore.hpp"

namespace migclock::kvm {
namespace {

// One running guest per vCPU count, shared by every benchmark of that size.
struct Fixture {
  System sys;
  ClockGuest guest;
  CaptureContext ctx;
  snapshot::Snapshot snap;
};

Fixture* fixture(uint32_t vcpus) {
  static std::map<uint32_t, std::unique_ptr<Fixture>> fixtures;
  auto it = fixtures.find(vcpus);
  if (it != fixtures.end()) return it->second.get();
  auto sys = System::open();
  if (!sys) return nullptr;
  auto guest = ClockGuest::create(*sys, vcpus);
  if (!guest) return nullptr;
  for (uint32_t i = 0; i < vcpus; ++i)
    if (!guest->sample(i)) return nullptr;
  CaptureContext ctx;
  ctx.host = collect_host_facts(guest->vm().get_tsc_khz().value_or(0));
  ctx.vm.name = "bench";
  auto snap = capture(guest->vm(), guest->vcpus(), ctx);
  if (!snap) return nullptr;
  auto f = std::unique_ptr<Fixture>(new Fixture{std::move(*sys), std::move(*guest), ctx, std::move(*snap)});
  return (fixtures[vcpus] = std::move(f)).get();
}

#define FIXTURE_OR_SKIP(state, f)                                   \
  Fixture* f = fixture(static_cast<uint32_t>((state).range(0)));    \
  if (!f) {                                                         \
    (state).SkipWithError("no /dev/kvm or guest setup failed");     \
    return;                                                         \
  }

void BM_VmIoctl_GetClock(benchmark::State& state) {
  FIXTURE_OR_SKIP(state, f);
  for (auto _ : state) benchmark::DoNotOptimize(f->guest.vm().get_clock());
}

void BM_VcpuIoctl_GetMsrs5(benchmark::State& state) {
  FIXTURE_OR_SKIP(state, f);
  uint64_t values[msr::kClockMsrs.size()];
  for (auto _ : state)
    benchmark::DoNotOptimize(f->guest.vcpus()[0].get_msrs(msr::kClockMsrs.data(), values, msr::kClockMsrs.size()));
}

void BM_CaptureFloor(benchmark::State& state) {
  FIXTURE_OR_SKIP(state, f);
  const Vm& vm = f->guest.vm();
  uint64_t values[msr::kClockMsrs.size()];
  for (auto _ : state) {
    benchmark::DoNotOptimize(vm.get_clock());
    benchmark::DoNotOptimize(vm.get_tsc_khz());
    for (const Vcpu& v : f->guest.vcpus()) {
      benchmark::DoNotOptimize(v.get_msrs(msr::kClockMsrs.data(), values, msr::kClockMsrs.size()));
      benchmark::DoNotOptimize(v.get_tsc_offset());
    }
    benchmark::DoNotOptimize(vm.get_pit2());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Capture(benchmark::State& state) {
  FIXTURE_OR_SKIP(state, f);
  for (auto _ : state) {
    auto snap = capture(f->guest.vm(), f->guest.vcpus(), f->ctx);
    if (!snap) state.SkipWithError(snap.error().message().c_str());
    benchmark::DoNotOptimize(snap);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RestoreFloor(benchmark::State& state) {
  FIXTURE_OR_SKIP(state, f);
  const Vm& vm = f->guest.vm();
  auto pit = vm.get_pit2();
  for (auto _ : state) {
    benchmark::DoNotOptimize(vm.get_tsc_khz());
    auto clock = vm.get_clock();
    for (size_t i = 0; i < f->guest.vcpus().size(); ++i) {
      const auto values = by_value_msr_values(f->snap.vcpus[i]);
      benchmark::DoNotOptimize(f->guest.vcpus()[i].set_msrs(kByValueMsrs.data(), values.data(), values.size()));
    }
    kvm_clock_data set{};
    set.clock = clock->clock + 1000;
    benchmark::DoNotOptimize(vm.set_clock(set));
    benchmark::DoNotOptimize(vm.get_clock());
    for (const Vcpu& v : f->guest.vcpus()) benchmark::DoNotOptimize(v.set_tsc_offset(0));
    benchmark::DoNotOptimize(vm.set_pit2(*pit));
    for (const Vcpu& v : f->guest.vcpus()) benchmark::DoNotOptimize(v.kvmclock_ctrl());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Restore(benchmark::State& state) {
  FIXTURE_OR_SKIP(state, f);
  KvmClockTarget target(f->guest.vm(), f->guest.vcpus(), false, true, KvmClockTarget::State::has_run);
  snapshot::Snapshot snap = f->snap;
  snap.clock.realtime_ns = static_cast<uint64_t>(SystemTimeSource::instance().realtime_ns());
  snap.clock.clock_ns = f->guest.vm().get_clock()->clock;  // other benchmarks moved it
  for (auto _ : state) {
    // Restoring onto the same VM again and again: move the snapshot ahead
    // each time so the restore never has to step kvmclock back.
    snap.clock.clock_ns += 10'000'000'000ull;
    auto outcome = restore(target, snap, RestorePolicy{}, SystemTimeSource::instance());
    if (!outcome) state.SkipWithError(outcome.error().message().c_str());
    benchmark::DoNotOptimize(outcome);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_VmIoctl_GetClock)->Arg(1);
BENCHMARK(BM_VcpuIoctl_GetMsrs5)->Arg(1);
BENCHMARK(BM_CaptureFloor)->Arg(1)->Arg(8)->Arg(64);
BENCHMARK(BM_Capture)->Arg(1)->Arg(8)->Arg(64);
BENCHMARK(BM_RestoreFloor)->Arg(1)->Arg(8)->Arg(64);
BENCHMARK(BM_Restore)->Arg(1)->Arg(8)->Arg(64);

}  // namespace
}  // namespace migclock::kvm

BENCHMARK_MAIN();
