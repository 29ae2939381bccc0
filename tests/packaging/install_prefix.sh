#!/usr/bin/env bash
# `cmake --install` into a staging root with a prefix other than the
# package's: every shipped file is there, units name the binaries and docs
# under that prefix, configs go to /etc/migclock (where the binaries look).
set -euo pipefail
build=$1
fail() { echo "FAIL: $*"; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
prefix=/opt/migclock-test
DESTDIR=$stage cmake --install "$build" --prefix $prefix > "$stage.log" 2>&1 || { cat "$stage.log"; rm -f "$stage.log"; fail "cmake --install"; }
rm -f "$stage.log"
for f in bin/migclock-agent bin/migclock-hook bin/migclock bin/migclock-controller bin/migclockctl; do
  [ -x "$stage$prefix/$f" ] || fail "no executable $prefix/$f"
done
for f in /etc/migclock/agent.conf /etc/migclock/hook.conf; do [ -f "$stage$f" ] || fail "no $f"; done
if find "$stage" -name '*testvmm*' -o -name '*_tests' | grep -q .; then fail "test binaries installed"; fi
units=$stage$prefix/lib/systemd/system
grep -qx "ExecStart=$prefix/bin/migclock-agent --config /etc/migclock/agent.conf" "$units/migclock-agent.service" \
  || fail "agent ExecStart: $(grep ExecStart "$units/migclock-agent.service")"
grep -q "^ExecStart=$prefix/bin/migclock-controller " "$units/migclock-controller.service" || fail "controller ExecStart"
grep -qx "Documentation=file://$prefix/share/doc/migclock-agent/agent.md" "$units/migclock-agent.service" || fail "agent Documentation"
[ -f "$stage$prefix/share/doc/migclock-agent/agent.md" ] || fail "the unit's Documentation file is not installed"
grep -qx "ExecStart=$prefix/sbin/migclock-guest-companion" "$units/migclock-guest-companion.service" \
  || fail "guest companion ExecStart: $(grep ExecStart "$units/migclock-guest-companion.service" 2>&1)"
[ -x "$stage$prefix/sbin/migclock-guest-companion" ] || fail "guest companion not installed in $prefix/sbin"
[ "$(stat -c %a "$units/migclock-agent.service")" = 644 ] || fail "unit mode $(stat -c %a "$units/migclock-agent.service")"
echo "cmake --install --prefix $prefix: OK"
