#!/usr/bin/env bash
# without-kvm.sh CMD [ARG...] — runs CMD on this machine as a host without
# /dev/kvm would: in a private mount namespace whose /dev holds every node
# of the real /dev except kvm (each bind-mounted, so /dev/null, /dev/pts,
# /dev/shm ... behave as before). Nothing outside the namespace changes, and
# it ends with CMD. Needs root (unshare --mount).
#
# This is how the suite and the demo are checked for the machines of this
# project that have no /dev/kvm at all (a PVM guest kernel, where KVM does not
# bind):  bash tools/without-kvm.sh bash tools/test.sh
set -euo pipefail
if [ "$#" -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  [ "$#" -eq 0 ] && exit 2 || exit 0
fi
if [ "${MIGCLOCK_WITHOUT_KVM_NS:-}" != "$$-inner" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "without-kvm: needs root (a private mount namespace)" >&2; exit 2; }
  command -v unshare >/dev/null || { echo "without-kvm: unshare (util-linux) is missing" >&2; exit 2; }
  # The inner shell recognises itself by its own PID (exec keeps it).
  exec unshare --mount --propagation private bash -c \
    'export MIGCLOCK_WITHOUT_KVM_NS="$$-inner"; exec bash "$0" "$@"' "$0" "$@"
fi
newdev=$(mktemp -d /tmp/migclock-nokvm-dev.XXXXXX)
mount -t tmpfs -o mode=755 migclock-nokvm-dev "$newdev"
shopt -s dotglob nullglob
for node in /dev/*; do
  name=${node#/dev/}
  [ "$name" = kvm ] && continue
  # ptys: a devpts instance of the namespace's own, reached through a
  # ptmx symlink as in a container (a bind-mounted ptmx node cannot find
  # its devpts from the new /dev, and openpty fails with ENOENT).
  [ "$name" = ptmx ] && continue
  if [ "$name" = pts ]; then
    mkdir "$newdev/pts"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 migclock-nokvm-pts "$newdev/pts"
    ln -s pts/ptmx "$newdev/ptmx"
    continue
  fi
  if [ -L "$node" ]; then cp -a "$node" "$newdev/$name"
  elif [ -d "$node" ]; then mkdir "$newdev/$name"; mount --rbind "$node" "$newdev/$name"
  else touch "$newdev/$name"; mount --bind "$node" "$newdev/$name"; fi
done
mount --move "$newdev" /dev
rmdir "$newdev" 2>/dev/null || true
[ ! -e /dev/kvm ] || { echo "without-kvm: /dev/kvm is still visible" >&2; exit 1; }
unset MIGCLOCK_WITHOUT_KVM_NS
export MIGCLOCK_KVM_HIDDEN=1
exec "$@"
