#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run every test, then
# fuzz the snapshot decoders for a bounded time (tools/fuzz.sh: clang,
# libFuzzer + ASan/UBSan, its own build-fuzz/; FUZZ_SECONDS per target,
# default 60). This is exactly what CI runs (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup.sh"
bash "$root/tools/build.sh"
cd "$root/build"
status=0
ctest --output-on-failure -j"$(nproc)" --timeout 900 || status=1
# Fuzz even after a test failure, so one CI run reports both.
bash "$root/tools/fuzz.sh" || status=1
[ $status -eq 0 ] && echo "test: ctest and fuzzing passed" || echo "test: FAILED (see ctest and fuzz output above)"
exit $status
