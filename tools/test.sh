#!/usr/bin/env bash
# The whole test suite: install dependencies, build, lint the changed files
# (tools/lint.sh), run every test, then
# fuzz the snapshot decoders for a bounded time (tools/fuzz.sh: clang,
# libFuzzer + ASan/UBSan, its own build-fuzz/; FUZZ_SECONDS per target,
# default 60). This is exactly what CI runs (.ci/run).
#
# Some of this project's machines have no /dev/kvm. On a machine that has
# one, ctest runs twice: as the machine is, and again as a host without KVM
# would see it (tools/without-kvm.sh: a mount namespace without /dev/kvm),
# so both paths are proven on every run. MIGCLOCK_TEST_WITHOUT_KVM=0 skips
# the second pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup.sh"
bash "$root/tools/build.sh"
status=0
# clang-tidy on the files this branch changes (tools/lint.sh; fast: changed
# files only, and it says so when there is nothing to compare with).
bash "$root/tools/lint.sh" || status=1
cd "$root/build"
ctest_args=(--output-on-failure -j"$(nproc)" --timeout 900)
if [ -e /dev/kvm ]; then echo "test: ctest with /dev/kvm"; else echo "test: ctest on a host without /dev/kvm"; fi
ctest "${ctest_args[@]}" || status=1
if [ -e /dev/kvm ] && [ "${MIGCLOCK_TEST_WITHOUT_KVM:-1}" != 0 ] && [ "$(id -u)" -eq 0 ]; then
  echo "test: ctest again, /dev/kvm hidden (tools/without-kvm.sh)"
  bash "$root/tools/without-kvm.sh" ctest "${ctest_args[@]}" || status=1
fi
# Fuzz even after a test failure, so one CI run reports both.
bash "$root/tools/fuzz.sh" || status=1
[ $status -eq 0 ] && echo "test: ctest and fuzzing passed" || echo "test: FAILED (see ctest and fuzz output above)"
exit $status
