#!/usr/bin/env bash
# Continuity of a local migration of the test VMM guest, repeated:
#   bench/kvm/continuity.sh [RUNS] [VCPUS] [PAUSE_MS]
# Runs `migclock-testvmm migrate --json` RUNS times in each mode and prints
# one JSON object per mode: min/median/max of kvmclock_error_ns, capture_us,
# restore_us. Target (issue #2): |kvmclock_error_ns| <= 1000 in precise mode.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN_DIR:-$root/build/bin}
runs=${1:-10}
vcpus=${2:-2}
pause=${3:-200}
for mode in precise by-value; do
  for _ in $(seq "$runs"); do
    "$bin/migclock-testvmm" migrate --vcpus "$vcpus" --pause-ms "$pause" --mode "$mode" --json
  done | python3 -c '
import json, sys
text = sys.stdin.read()
dec = json.JSONDecoder(); pos = 0; reports = []
while pos < len(text):
    while pos < len(text) and text[pos].isspace(): pos += 1
    if pos >= len(text): break
    obj, pos = dec.raw_decode(text, pos); reports.append(obj)
def stats(key):
    v = sorted(r[key] for r in reports)
    return {"min": v[0], "median": v[len(v) // 2], "max": v[-1]}
print(json.dumps({"mode": reports[0]["mode"], "runs": len(reports), "vcpus": reports[0]["vcpus"],
                  "pause_ms": reports[0]["pause_ms"],
                  "kvmclock_error_ns": stats("kvmclock_error_ns"),
                  "abs_kvmclock_error_ns_max": max(abs(r["kvmclock_error_ns"]) for r in reports),
                  # against CLOCK_REALTIME around the guest KVM_RUN (see docs/kvm.md)
                  "bounds_ns": {"lowest": min(r["kvmclock_error_bounds_ns"][0] for r in reports),
                                "highest": max(r["kvmclock_error_bounds_ns"][1] for r in reports),
                                "median_width": sorted(r["kvmclock_error_bounds_ns"][1] - r["kvmclock_error_bounds_ns"][0]
                                                       for r in reports)[len(reports) // 2]},
                  "capture_us": stats("capture_us"), "restore_us": stats("restore_us"),
                  "stepped_back_any": any(r["stepped_back"] for r in reports),
                  "tsc_honoured": reports[0]["tsc_honoured"],
                  "tsc_error_cycles": reports[0]["tsc_error_cycles"]}))
'
done
