// Encode and decode cost and encoded size of a snapshot, per archive and
// vCPU count. Targets (issue #3): 4 vCPUs binary <= 1 KiB and
// encode+decode <= 5 us. Run:
//   build/bin/bench_serialization --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "migclock/serialization/snapshot_io.hpp"

namespace {

using namespace migclock;
using migclock::serialization::Format;

// A fully populated snapshot (PIT, RTC and guest time present, large raw
// values) so sizes are the realistic worst case, not a sparse best case.
snapshot::Snapshot make_snapshot(int vcpus) {
  snapshot::Snapshot s;
  s.vm = {"6f1c9a52-3d1e-4b7a-9c0e-2a4b5c6d7e8f", "bench-guest"};
  s.host = {"host-a.example", "0d3f6a4e-8c1b-4e8a-a2b1-7e6f5d4c3b2a", 2'995'200, "tsc", true,
            snapshot::OffsetHonoured::yes};
  s.captured = {1'795'000'000'123'456'789, 987'654'321'000};
  s.software_version = MIGCLOCK_VERSION;
  s.clock = {12'345'678'901, snapshot::kClockTscStable | snapshot::kClockRealtime | snapshot::kClockHostTsc,
             1'795'000'000'123'400'000, 0xF123'4567'89AB'CDEFull};
  s.masterclock = {snapshot::MasterclockState::active, snapshot::MasterclockEvidence::clock_flags};
  for (int i = 0; i < vcpus; ++i) {
    snapshot::VcpuClock v;
    v.id = static_cast<uint32_t>(i);
    v.tsc_offset = 0xFFFF'FF00'0000'0000ull - i;
    v.tsc_offset_valid = true;
    v.msr_tsc = 36'000'000'000ull + i;
    v.msr_kvm_system_time = 0x7ff0'1001ull + i * 0x40ull;
    v.msr_kvm_wall_clock = 0x7ff0'0000ull;
    v.msr_kvm_steal_time = 0x7ff0'2001ull + i * 0x40ull;
    v.tsc_khz = 2'995'200;
    s.vcpus.push_back(v);
  }
  s.pit.present = true;
  for (auto& c : s.pit.channels) c = {18, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 1, 987'000'000'000};
  s.rtc = {true, 1'795'000'000, "qmp:qom-get /machine/unattached/device[3].date"};
  s.guest_time = snapshot::GuestTime{1'795'000'000'120'000'000, 1'795'000'000'120'000'100, 250'000};
  return s;
}

Format format_arg(const benchmark::State& state) { return state.range(0) ? Format::binary : Format::json; }

void set_counters(benchmark::State& state, std::size_t bytes) {
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["vcpus"] = static_cast<double>(state.range(1));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_Encode(benchmark::State& state) {
  const auto s = make_snapshot(static_cast<int>(state.range(1)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto encoded = serialization::encode(s, format_arg(state));
    if (!encoded) std::abort();
    bytes = encoded->size();
    benchmark::DoNotOptimize(encoded->data());
  }
  set_counters(state, bytes);
}

void BM_Decode(benchmark::State& state) {
  const auto encoded = *serialization::encode(make_snapshot(static_cast<int>(state.range(1))), format_arg(state));
  for (auto _ : state) {
    auto decoded = serialization::decode(encoded, format_arg(state));
    if (!decoded) std::abort();
    benchmark::DoNotOptimize(decoded->vcpus.data());
  }
  set_counters(state, encoded.size());
}

// The latency target: one encode followed by one decode.
void BM_EncodeDecode(benchmark::State& state) {
  const auto s = make_snapshot(static_cast<int>(state.range(1)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto encoded = serialization::encode(s, format_arg(state));
    if (!encoded) std::abort();
    auto decoded = serialization::decode(*encoded, format_arg(state));
    if (!decoded) std::abort();
    bytes = encoded->size();
    benchmark::DoNotOptimize(decoded->vcpus.data());
  }
  set_counters(state, bytes);
}

// range(0): 0 = json, 1 = binary; range(1): vCPUs.
void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"binary", "vcpus"});
  for (int binary : {1, 0})
    for (int vcpus : {1, 4, 8, 64}) b->Args({binary, vcpus});
}

BENCHMARK(BM_Encode)->Apply(args);
BENCHMARK(BM_Decode)->Apply(args);
BENCHMARK(BM_EncodeDecode)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
