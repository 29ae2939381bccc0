#!/usr/bin/env bash
# build-guest.sh — builds the Linux test guest used by the real-libvirt tests.
#
# Usage: tools/guest/build-guest.sh [OUT_DIR]        (default: <repo>/build-guest)
#
# Produces, in OUT_DIR:
#   vmlinuz      the kernel of Debian's linux-image-amd64 (apt-get download +
#                dpkg -x: nothing is installed into /boot)
#   initrd.img   a busybox-static initramfs that loads the virtio console
#                modules of that kernel, links /dev/virtio-ports/<name> the
#                way udev would, runs qemu-ga on org.qemu.guest_agent.0 and
#                the time-probe answerer (timeprobe/, static) on
#                org.migclock.timeprobe.0, and the guest companion
#                (<repo>/guest/, static) on org.migclock.clock.0
#   kernel.version, guest.stamp
# Idempotent: a second run with the same inputs (this script, the kernel
# package version, qemu-ga, busybox, the time probe's sources) does nothing
# and prints the paths.
# Needs (tools/deps/agent-infra.txt): busybox-static qemu-guest-agent cpio
# kmod dpkg-dev gcc g++ libc6-dev (static libc and libstdc++ for the probe
# and the companion), and apt-get
# access to Debian's archive for the kernel.
#
# The guest boots to userspace in ~6 s under TCG; its console prints
# "migclock-guest: qemu-ga running" once the agent is up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build-guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Tests running in parallel may all ask for the guest: one builds, the others
# wait and then find it up to date.
exec 9>"$out/.lock"
flock 9

# The modules the guest needs for the guest-agent channel, in load order.
wanted_modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console)

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$kernel_pkg" ]; then
  apt-get update -qq
  kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
[ -n "$kernel_pkg" ] || { echo "build-guest: cannot resolve linux-image-amd64" >&2; exit 1; }
kernel_pkg_version=$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/{print $2}')

probe_src=("$here/timeprobe/timeprobe_guest.c" "$here/timeprobe/protocol.h")
companion_dir="$root/guest"
mapfile -t companion_src < <(cd "$companion_dir" && find main.cpp src include -type f | LC_ALL=C sort | sed "s|^|$companion_dir/|")
stamp_input="$(sha256sum "$0" | cut -d' ' -f1) $kernel_pkg $kernel_pkg_version $(sha256sum /usr/sbin/qemu-ga /bin/busybox "${probe_src[@]}" "${companion_src[@]}" | cut -d' ' -f1 | tr '\n' ' ')"
if [ -f "$out/guest.stamp" ] && [ "$(cat "$out/guest.stamp")" = "$stamp_input" ] \
   && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
  echo "build-guest: up to date: $out/vmlinuz $out/initrd.img"
  exit 0
fi

work="$out/work"
rm -rf "$work"
mkdir -p "$work/deb" "$work/kernel" "$work/initramfs"

# --- kernel -------------------------------------------------------------
deb=$(ls "$out"/"${kernel_pkg}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  chmod 0777 "$work/deb"   # apt's _apt user writes the download
  (cd "$work/deb" && apt-get download "$kernel_pkg" >/dev/null)
  mv "$work/deb"/*.deb "$out/"
  deb=$(ls "$out"/"${kernel_pkg}"_*.deb | head -n1)
fi
dpkg -x "$deb" "$work/kernel"
kver=$(ls "$work/kernel/lib/modules" | head -n1)
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$kver" > "$out/kernel.version"
moddir="$work/kernel/lib/modules/$kver"
# The package ships no modules.dep (postinst runs depmod): build it here.
[ -f "$moddir/modules.dep" ] || depmod -b "$work/kernel" "$kver"

# --- initramfs tree -------------------------------------------------------
ird="$work/initramfs"
mkdir -p "$ird"/{bin,sbin,dev,proc,sys,run,tmp,etc,lib/modules,var/run,usr/bin,usr/sbin,lib64,lib/x86_64-linux-gnu}
cp /bin/busybox "$ird/bin/busybox"
for applet in sh mount mkdir ln cat echo sleep insmod hwclock date ls setsid cttyhack poweroff reboot dmesg basename; do
  ln -sf busybox "$ird/bin/$applet"
done
# qemu-ga runs "/sbin/hwclock -w" after guest-set-time (and "-s" without a time).
ln -sf ../bin/busybox "$ird/sbin/hwclock"

# Modules: resolve dependencies from the kernel's own modules.dep, so the
# copy follows whatever this kernel version needs; built-ins are skipped.
declare -A seen=()
ordered=()
module_path() {  # module name -> relative path from modules.dep, or "" if built in
  local name=$1 alt=${1//_/-}
  awk -F: -v a="$name" -v b="$alt" '{n=$1; sub(/.*\//,"",n); sub(/\.ko(\.[a-z]+)?$/,"",n); if (n==a || n==b) {print $1; exit}}' "$moddir/modules.dep"
}
add_module() {
  local name=$1 rel deps dep
  [ -n "${seen[$name]:-}" ] && return 0
  seen[$name]=1
  rel=$(module_path "$name")
  if [ -z "$rel" ]; then
    if grep -qE "/${name//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null; then return 0; fi
    echo "build-guest: module $name not found in $kver" >&2; exit 1
  fi
  deps=$(awk -F': *' -v m="$rel" '$1==m {print $2; exit}' "$moddir/modules.dep")
  for dep in $deps; do
    dep=$(basename "$dep"); dep=${dep%%.ko*}; add_module "${dep//-/_}"
  done
  ordered+=("$rel")
}
for m in "${wanted_modules[@]}"; do add_module "$m"; done
: > "$ird/etc/modules.order"
for rel in "${ordered[@]}"; do
  base=$(basename "$rel")
  case "$base" in
    *.ko.xz) xz -dc "$moddir/$rel" > "$ird/lib/modules/${base%.xz}"; base=${base%.xz} ;;
    *.ko.zst) zstd -qdc "$moddir/$rel" > "$ird/lib/modules/${base%.zst}"; base=${base%.zst} ;;
    *.ko.gz) gzip -dc "$moddir/$rel" > "$ird/lib/modules/${base%.gz}"; base=${base%.gz} ;;
    *) cp "$moddir/$rel" "$ird/lib/modules/$base" ;;
  esac
  echo "$base" >> "$ird/etc/modules.order"
done

# qemu-ga and every shared library it loads (ldd), plus the loader.
cp /usr/sbin/qemu-ga "$ird/usr/sbin/qemu-ga"
ldd /usr/sbin/qemu-ga | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
  real=$(readlink -f "$lib")
  mkdir -p "$ird$(dirname "$lib")"
  cp "$real" "$ird$lib"
done

# The time-probe answerer: static, so it needs nothing from the initramfs.
gcc -static -s -O2 -Wall -Wextra -Werror -o "$ird/usr/bin/migclock-timeprobe-guest" "$here/timeprobe/timeprobe_guest.c"
# The guest companion (guest/): static too, from its own sources (its
# CMake target builds the same files dynamically for the host's tests).
g++ -static -s -O2 -std=c++17 -Wall -Wextra -Werror -I "$companion_dir/include" \
  -o "$ird/usr/bin/migclock-guest-companion" "$companion_dir/main.cpp" "$companion_dir"/src/*.cpp

cat > "$ird/init" <<'INIT'
#!/bin/sh
# migclock test guest: PID 1. Loads the virtio console modules, names the
# virtio-serial ports as udev would, keeps qemu-ga running.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /var/run /tmp
for m in $(cat /etc/modules.order); do insmod /lib/modules/$m 2>/dev/null; done
echo "migclock-guest: modules loaded"
link_ports() {
  mkdir -p /dev/virtio-ports
  for p in /sys/class/virtio-ports/vport*; do
    [ -e "$p/name" ] || continue
    ln -sf "/dev/$(basename "$p")" "/dev/virtio-ports/$(cat "$p/name")"
  done
}
i=0
while [ ! -e /dev/virtio-ports/org.qemu.guest_agent.0 ] && [ $i -lt 100 ]; do
  link_ports; sleep 0.1; i=$((i+1))
done
link_ports   # the ports appear together, but link whatever came after the agent's
hwclock -s -u 2>/dev/null
# The demo's independent judge (tools/timeprobe): its own port, its own
# program, nothing shared with qemu-ga. It waits for its port if absent.
(while true; do
   link_ports
   /usr/bin/migclock-timeprobe-guest /dev/virtio-ports/org.migclock.timeprobe.0
   sleep 0.2
 done) &
# A busy guest for the measurements (docs/benchmarks.md): with
# migclock.busy=1 on the kernel command line a CPU-bound loop competes with
# every program here for the one vCPU.
case " $(cat /proc/cmdline) " in
  *" migclock.busy=1 "*) echo "migclock-guest: busy loop running"; (while :; do :; done) & ;;
esac
# Ports hot-plugged later (virsh attach-device --live of a channel) get
# their /dev/virtio-ports link too: there is no udev here.
(while true; do link_ports; sleep 1; done) &
# The guest companion (guest/): the agent's precise clock channel. It waits
# for its port itself.
(while true; do
   /usr/bin/migclock-guest-companion
   sleep 0.2
 done) &
(while true; do
   echo "migclock-guest: qemu-ga running"
   /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run
   sleep 0.2
 done) &
exec setsid cttyhack sh
INIT
chmod +x "$ird/init"

(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
rm -rf "$work"
echo "$stamp_input" > "$out/guest.stamp"
echo "build-guest: built $out/vmlinuz ($kver) $out/initrd.img ($(du -k "$out/initrd.img" | cut -f1) KiB)"
