#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer) into
# build-fuzz/ and runs each for a bounded time. Fails on any crash, leak,
# sanitizer report, timeout or out-of-memory.
#
#   tools/fuzz.sh                 # ~60 s per target
#   FUZZ_SECONDS=10 tools/fuzz.sh
#
# tools/test.sh (what CI runs) runs it after ctest; a fresh clone needs only
# the packages of tools/deps/serialization.txt (clang, libclang-rt-14-dev
# for libFuzzer and the sanitizer runtimes, llvm for llvm-symbolizer).
#
# Seeds: the golden files of every format version (tests/serialization/golden)
# and serialization/fuzz/corpus/. The growing corpus stays in build-fuzz/
# so the checked-in seeds never change; crash inputs land in
# build-fuzz/artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
seconds="${FUZZ_SECONDS:-60}"

mkdir -p "$build"
cmake -S "$root" -B "$build" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMIGCLOCK_FUZZ=ON -DMIGCLOCK_SANITIZE=ON \
  -DMIGCLOCK_TESTS=OFF -DMIGCLOCK_BENCHMARKS=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }

targets=(fuzz_snapshot_binary fuzz_snapshot_json)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p "$build/artifacts"
status=0
for target in "${targets[@]}"; do
  kind=${target#fuzz_snapshot_}
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  seeds="$root/serialization/fuzz/corpus/$kind"
  extra=()
  if [ "$kind" = json ]; then
    cp -n "$root"/tests/serialization/golden/*.json "$corpus"/ 2>/dev/null || true
    extra+=(-dict="$root/serialization/fuzz/snapshot_json.dict")
  else
    cp -n "$root"/tests/serialization/golden/*.mcs "$corpus"/ 2>/dev/null || true
  fi
  echo "fuzz: $target for ${seconds}s"
  if ! "$build/bin/$target" "$corpus" "$seeds" "${extra[@]}" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 \
      >"$build/$target.log" 2>&1; then
    echo "fuzz: $target FAILED (log: $build/$target.log)"
    tail -n 60 "$build/$target.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "$build/$target.log" | sed "s/^/fuzz: $target: /"
  fi
done
if [ $status -eq 0 ]; then
  echo "fuzz: ${#targets[@]} passed, 0 failed (${SECONDS}s including the build)"
else
  echo "fuzz: failed"
fi
exit $status
