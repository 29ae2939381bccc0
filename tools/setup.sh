#!/usr/bin/env bash
# Installs every Debian package migclock needs, idempotently, on a fresh
# Debian 12 machine. The lists live in tools/deps/*.txt (one per component)
# so each component owns its own dependencies.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(cat "$here"/deps/*.txt | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#wanted[@]} packages present"
else
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# debugfs/tracefs carry KVM's per-vCPU state and trace events (read-only use).
if [ "$(id -u)" -eq 0 ]; then
  grep -q ' /sys/kernel/debug debugfs' /proc/mounts || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
  grep -q ' /sys/kernel/tracing tracefs' /proc/mounts || mount -t tracefs none /sys/kernel/tracing 2>/dev/null || true
fi
