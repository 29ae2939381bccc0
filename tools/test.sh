#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run every test.
# This is exactly what CI runs (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup.sh"
bash "$root/tools/build.sh"
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" --timeout 900
