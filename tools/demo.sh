#!/usr/bin/env bash
# The main job on an embedded default: installs what is missing, builds, then
#  1. probes this host's KVM clock capabilities (what it can honour), and
#  2. live-migrates the test VMM's guest between two processes on this host,
#     once restored precisely (migclock) and once by value (as QEMU does),
#     printing both continuity reports side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup.sh"
bash "$root/tools/build.sh" >/dev/null
bin="$root/build/bin"
echo "== host probe (migclock probe) =="
"$bin/migclock" probe
echo
for mode in precise by-value; do
  echo "== migration of the test VMM guest: 2 vCPUs, 200 ms pause, mode $mode =="
  "$bin/migclock-testvmm" migrate --vcpus 2 --pause-ms 200 --mode "$mode" --json || true
  echo
done
