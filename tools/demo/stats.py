#!/usr/bin/env python3
"""Percentiles of the judge's figures in a demo's events.jsonl, per arm and event.

Usage: tools/demo/stats.py OUT/events.jsonl

|off|: the judge's offset 2.5 s after the resume (`watch.final`); ± its
largest uncertainty. Settling, from the watch's 20 ms points (3 exchanges
each, each ± its own half-RTT):
  first<=100us  the first point within 100 µs (when the repair landed)
  stay<=100us   from when every later point stayed within 100 µs (the
                judge's own strict figure, to_100us_ms; one noisy point
                resets it)
  stay<=100+u   the same, a point counting as within when |off| - its own
                uncertainty <= 100 µs (what the points can show)
"""
import json
import sys


def pct(v, q):
    v = sorted(v)
    if not v:
        return None
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def settle(points, ok):
    since = None
    for p in points:
        if ok(p):
            if since is None:
                since = p[0]
        else:
            since = None
    return since


def fmt(v):
    return "never" if v is None else f"{v:.0f}"


cells = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    cells.setdefault((e["arm"], e["event"]), []).append(e)
print("ARM          EVENT      N  MEDIAN|OFF|us  P95us  MAXus  ±us   first<=100us med/max  stay<=100us med/max  stay<=100+u med/max (ms)")
for (arm, ev), es in sorted(cells.items()):
    offs = [abs(e["watch"]["final"]["offset_us"]) for e in es]
    unc = max(e["watch"]["final"]["uncertainty_us"] for e in es)
    first = [next((p[0] for p in e["watch"]["points"] if abs(p[1]) <= 100), None) for e in es]
    strict = [e["watch"].get("to_100us_ms") for e in es]
    loose = [settle(e["watch"]["points"], lambda p: abs(p[1]) - p[2] <= 100) for e in es]

    def mm(v):
        got = [x for x in v if x is not None]
        miss = len(v) - len(got)
        s = f"{fmt(pct(got, 0.5))}/{fmt(max(got) if got else None)}"
        return s + (f" ({miss} never)" if miss else "")
    print(f"{arm:12} {ev:10} {len(es):2} {pct(offs, 0.5):13.0f} {pct(offs, 0.95):6.0f} {max(offs):6.0f} {unc:4.0f}   "
          f"{mm(first):22} {mm(strict):20} {mm(loose)}")
