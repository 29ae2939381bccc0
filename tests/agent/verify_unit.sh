#!/usr/bin/env bash
# systemd-analyze verify of the agent's unit template, against the built
# binary. verify checks that ExecStart's binary exists and is executable, so
# the unit is verified as install would write it (packaging/CMakeLists.txt
# fills @MIGCLOCK_BINDIR@), with the build's bin/ as the directory.
# Any warning fails the test.
set -euo pipefail
analyze=$1 unit=$2 binary=$3
# What issue #4 requires of the unit, checked literally.
for want in '^Type=notify$' '^WatchdogSec=' '^After=.*libvirtd\.service' '^After=.*virqemud\.service|^After=.*virtqemud\.service' \
            '^ProtectSystem=strict$' '^ReadWritePaths=/var/lib/migclock' '^ProtectHome=yes$' '^PrivateTmp=yes$' \
            '^NoNewPrivileges=yes$' '^CapabilityBoundingSet='; do
  grep -Eq "$want" "$unit" || { echo "$unit: missing $want"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s|@MIGCLOCK_BINDIR@|$(dirname "$binary")|" -e "s|@MIGCLOCK_DOCDIR@|/usr/share/doc/migclock-agent|" "$unit" > "$tmp/migclock-agent.service"
grep -q "^ExecStart=$binary " "$tmp/migclock-agent.service" || { echo "ExecStart not found in $unit"; exit 1; }
out=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=warning "$analyze" verify --man=no "$tmp/migclock-agent.service" 2>&1) || { echo "$out"; exit 1; }
# Lines about other units (libvirtd.service not installed here) are not ours.
ours=$(printf '%s\n' "$out" | grep -v '^$' | grep 'migclock-agent' || true)
if [ -n "$ours" ]; then echo "$ours"; exit 1; fi
echo "systemd-analyze verify: migclock-agent.service OK"
printf '%s\n' "$out"
