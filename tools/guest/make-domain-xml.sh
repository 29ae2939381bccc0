#!/usr/bin/env bash
# make-domain-xml.sh — prints the libvirt XML of the migclock test guest.
#
# Usage: tools/guest/make-domain-xml.sh NAME UUID KERNEL INITRD CONSOLE_LOG [MEMORY_MIB] [AGENT_SOCKET] [PROBE_SOCKET] [COMPANION_SOCKET]
#   KERNEL/INITRD: from tools/guest/build-guest.sh (must be readable by the
#   user the libvirt daemon runs as). CONSOLE_LOG: a file the daemon's QEMU
#   may create (for a migration's DEST.xml, a path on the destination side).
#   MEMORY_MIB defaults to 192. AGENT_SOCKET: where QEMU binds the guest
#   agent's unix socket; by default libvirt picks a path under the daemon's
#   config dir, which must stay below the 107-byte sun_path limit.
#   PROBE_SOCKET: the same for the time-probe channel org.migclock.timeprobe.0
#   (tools/timeprobe connects there); by default libvirt picks it.
#   COMPANION_SOCKET: the same for the guest companion's org.migclock.clock.0
#   (the agent reads it from the live XML). MIGCLOCK_GUEST_BUSY=1 in the
#   environment adds migclock.busy=1 to the kernel command line: the guest
#   then runs a CPU-bound loop (a busy guest for the measurements).
#   MIGCLOCK_GUEST_COMPANION=0 leaves the companion's channel out (a guest
#   the agent repairs through qemu-ga); a migration's DEST.xml must be made
#   with the same setting as the domain's.
#   MIGCLOCK_GUEST_CLOCK (env): the <clock> element's attributes instead of
#   offset='utc', e.g. "offset='variable' adjustment='3600' basis='utc'".
set -euo pipefail
if [ $# -lt 5 ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; [ "${1:-}" = "--help" ] && exit 0; exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
for v in "$@"; do
  case "$v" in *[\<\>\&\'\"\|\\]*) echo "make-domain-xml: refusing a value with XML or sed metacharacters: $v" >&2; exit 2 ;; esac
done
esc() { printf '%s' "$1"; }
clock_attrs=${MIGCLOCK_GUEST_CLOCK:-"offset='utc'"}
case "$clock_attrs" in *[!A-Za-z0-9_=\'\ /+-]*)
  echo "make-domain-xml: MIGCLOCK_GUEST_CLOCK: only attributes (letters, digits, = ' / + - _ space): $clock_attrs" >&2; exit 2 ;;
esac
agent_source=""
[ -n "${7:-}" ] && agent_source="<source mode='bind' path='$7'/>"
probe_source=""
[ -n "${8:-}" ] && probe_source="<source mode='bind' path='$8'/>"
companion_source=""
[ -n "${9:-}" ] && companion_source="<source mode='bind' path='$9'/>"
cmdline_extra=""
[ "${MIGCLOCK_GUEST_BUSY:-0}" = 1 ] && cmdline_extra=" migclock.busy=1"
companion_channel="<channel type='unix'>$companion_source<target type='virtio' name='org.migclock.clock.0'/></channel>"
[ "${MIGCLOCK_GUEST_COMPANION:-1}" = 0 ] && companion_channel=""
sed -e "s|@AGENT_SOURCE@|$agent_source|" -e "s|@PROBE_SOURCE@|$probe_source|" \
    -e "s|@COMPANION_CHANNEL@|$companion_channel|" -e "s|<clock offset='utc'>|<clock $clock_attrs>|" -e "s|@CMDLINE_EXTRA@|$cmdline_extra|" -e "s|@NAME@|$(esc "$1")|g" -e "s|@UUID@|$(esc "$2")|g" \
    -e "s|@KERNEL@|$(esc "$3")|g" -e "s|@INITRD@|$(esc "$4")|g" \
    -e "s|@CONSOLE_LOG@|$(esc "$5")|g" -e "s|@MEMORY_MIB@|${6:-192}|g" \
    "$here/domain.xml.in"
