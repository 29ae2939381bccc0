#!/usr/bin/env bash
# Installs the packages on this machine with dpkg, checks the installed
# layout, removes and purges them, and checks that nothing is left.
# Root only; PID 1 need not be systemd (the maintainer scripts cope).
# /etc/libvirt/hooks is shared with other tests and other checkouts on the
# machine: everything runs under flock /tmp/migclock-libvirt.lock.
set -euo pipefail
src=$1 pkg=$2
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
[ "${MIGCLOCK_SKIP_DPKG_INSTALL:-0}" = 1 ] && skip "MIGCLOCK_SKIP_DPKG_INSTALL=1"
for p in migclock-agent migclock-controller; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
    skip "$p is already installed on this machine: not ours to replace or purge"
  fi
done
version=$(sed -n 's/^project(migclock VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
debs=("$pkg/migclock-agent_${version}_${arch}.deb" "$pkg/migclock-controller_${version}_${arch}.deb")
hooks=/etc/libvirt/hooks
tmp=$(mktemp -d)

exec 9>/tmp/migclock-libvirt.lock
flock 9

# dpkg refuses while another dpkg/apt runs (other engineers install
# packages too): wait for its lock instead of failing.
dpkg_wait() {
  local i out
  for i in $(seq 1 60); do
    if out=$(dpkg "$@" 2>&1); then echo "$out"; return 0; fi
    case "$out" in *"lock"*) sleep 5 ;; *) echo "$out"; return 1 ;; esac
  done
  echo "$out"
  return 1
}
# Leaves the machine as found, whatever failed: our packages purged, a
# planted foreign hook and a /var/lib/private this test made gone.
planted="" made_private=0 pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  dpkg_wait --purge migclock-agent migclock-controller migclock-guest >/dev/null 2>&1 || true
  if [ -n "$planted" ]; then rm -f "$planted"; rmdir "$hooks/qemu.d" 2>/dev/null || true; fi
  if [ "$made_private" = 1 ]; then rmdir /var/lib/private 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Every path naming migclock in the system trees dpkg and the scripts touch.
migclock_paths() {
  find /etc /usr /var/lib -xdev \( -name '*migclock*' -o -path "$hooks/qemu" \) -print 2>/dev/null | sort
}
migclock_paths > "$tmp/before"
hook_before=""
[ -e "$hooks/qemu" ] && hook_before=$(sha256sum < "$hooks/qemu")

out=$(dpkg_wait -i "${debs[@]}") || fail "dpkg -i: $out"
echo "$out"
echo "$out" | grep -q 'restart it before the next migration' || fail "postinst did not say that libvirt must be restarted"

# Enabled (deb-systemd-helper's symlink), not started.
[ -L /etc/systemd/system/multi-user.target.wants/migclock-agent.service ] || fail "migclock-agent.service not enabled"
[ -L /etc/systemd/system/multi-user.target.wants/migclock-controller.service ] || fail "migclock-controller.service not enabled"
if pgrep -f '^/usr/bin/migclock-(agent|controller)( |$)' >/dev/null; then fail "installing started a packaged daemon"; fi

# The hook: ours in place of none, or a drop-in next to a foreign one left untouched.
if [ -z "$hook_before" ]; then
  cmp -s /usr/bin/migclock-hook "$hooks/qemu" || fail "$hooks/qemu is not the packaged hook"
else
  [ "$(sha256sum < "$hooks/qemu")" = "$hook_before" ] || fail "postinst clobbered the existing $hooks/qemu"
  cmp -s /usr/bin/migclock-hook "$hooks/qemu.d/50-migclock" || fail "no drop-in next to the foreign hook"
fi

# Installed units verify against the installed binaries (lines about
# units not installed here, such as libvirtd.service, are not ours).
for u in migclock-agent migclock-controller; do
  vout=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no /usr/lib/systemd/system/$u.service 2>&1) \
    || fail "systemd-analyze verify $u: $vout"
  if printf '%s\n' "$vout" | grep -q "$u"; then fail "systemd-analyze verify $u: $vout"; fi
done
echo "installed: enabled, not started, hook in place, units verify: OK"

# The installed config is what the unit passes; it must pass --check-config,
# and --check-config must reject a broken one (the check can fail).
cout=$(/usr/bin/migclock-agent --config /etc/migclock/agent.conf --check-config) || fail "--check-config: $cout"
echo "$cout" | grep -qx 'libvirt_uri = qemu:///system' || fail "--check-config printed: $cout"
printf 'sync_policy = sometimes\n' > "$tmp/bad.conf"
rc=0; bout=$(/usr/bin/migclock-agent --config "$tmp/bad.conf" --check-config 2>&1) || rc=$?
[ $rc -eq 2 ] && echo "$bout" | grep -q 'bad.conf:1: sync_policy' || fail "broken config: rc $rc, $bout"
printf 'controller_url = https://ctl.example:8443\ncontroller_token_file = %s/none.token\n' "$tmp" > "$tmp/notoken.conf"
rc=0; bout=$(/usr/bin/migclock-agent --config "$tmp/notoken.conf" --check-config 2>&1) || rc=$?
[ $rc -eq 2 ] && echo "$bout" | grep -q 'none.token: No such file' || fail "missing token file: rc $rc, $bout"

# Tokens where the unit keeps the journal (DynamicUser: /var/lib/private).
# systemd makes that directory when the service first starts; PID 1 here
# may not be systemd, so make it as systemd would (and take away a
# /var/lib/private this test made).
if [ ! -d /var/lib/private ]; then
  install -d -m 0700 /var/lib/private
  made_private=1
fi
install -d -m 0700 /var/lib/private/migclock-controller
token=$(/usr/bin/migclock-controller token create --data-dir /var/lib/private/migclock-controller --scope read --label pkgtest) \
  || fail "token create: $token"
[[ "$token" =~ ^mct_ ]] || fail "token create printed '$token'"
[ -f /var/lib/private/migclock-controller/controller.db ] || fail "token create made no journal"
echo "installed: --check-config accepts agent.conf and rejects a bad one; token create: OK"

# The installed binaries work together in the installed layout: the
# controller on that journal (loopback plain HTTP: no certificate here),
# an agent run with a copy of the installed agent.conf pointed at it (the
# libvirt test driver, its own socket and state), migclockctl listing it.
port=$((21000 + $$ % 300))  # clear of the other real-process tests' ranges
/usr/bin/migclock-controller --listen 127.0.0.1:$port --data-dir /var/lib/private/migclock-controller --plain-http \
  > "$tmp/controller.log" 2>&1 &
pids+=($!)
agent_token=$(/usr/bin/migclock-controller token create --data-dir /var/lib/private/migclock-controller --scope agent --host migclock-pkgtest)
(umask 077; echo "$agent_token" > "$tmp/agent.token")
cp /etc/migclock/agent.conf "$tmp/agent.conf"
printf '%s\n' "controller_url = http://127.0.0.1:$port" "controller_token_file = $tmp/agent.token" \
  "hostname = migclock-pkgtest" "socket = $tmp/agent.sock" "state_dir = $tmp/state" "libvirt_uri = test:///default" \
  >> "$tmp/agent.conf"
/usr/bin/migclock-agent --config "$tmp/agent.conf" > "$tmp/agent.log" 2>&1 &
pids+=($!)
listed=""
for i in $(seq 1 100); do
  listed=$(MIGCLOCK_SERVER=http://127.0.0.1:$port MIGCLOCK_TOKEN=$token /usr/bin/migclockctl hosts 2>&1 || true)
  echo "$listed" | grep -q migclock-pkgtest && break
  sleep 0.2
done
echo "$listed" | grep -q migclock-pkgtest \
  || fail "migclockctl hosts does not list the installed agent: $listed; agent: $(cat "$tmp/agent.log"); controller: $(cat "$tmp/controller.log")"
for p in "${pids[@]}"; do kill "$p"; wait "$p" || true; done
pids=()
echo "installed controller + agent + migclockctl work together: OK"

# Reinstalling (an upgrade to the same version) keeps the unit enabled and
# refreshes our own hook in place.
out=$(dpkg_wait -i "${debs[0]}") || fail "dpkg -i again: $out"
echo "$out" | grep -Eq 'updated our hook in place|installed as a qemu.d drop-in' || fail "upgrade did not refresh the hook: $out"
[ -L /etc/systemd/system/multi-user.target.wants/migclock-agent.service ] || fail "upgrade disabled the agent"

# Remove: binaries and hook go, configuration and state stay.
out=$(dpkg_wait -r migclock-agent migclock-controller) || fail "dpkg -r: $out"
[ ! -e /usr/bin/migclock-agent ] || fail "remove left /usr/bin/migclock-agent"
[ -f /etc/migclock/agent.conf ] || fail "remove deleted the conffile agent.conf"
[ -f /var/lib/private/migclock-controller/controller.db ] || fail "remove deleted the controller journal"
[ ! -e "$hooks/qemu.d/50-migclock" ] || fail "remove left the hook drop-in"
if [ -z "$hook_before" ]; then
  [ ! -e "$hooks/qemu" ] || fail "remove left $hooks/qemu"
else
  [ "$(sha256sum < "$hooks/qemu")" = "$hook_before" ] || fail "remove touched the foreign $hooks/qemu"
fi

# Purge: nothing of ours is left.
out=$(dpkg_wait -P migclock-agent migclock-controller) || fail "dpkg -P: $out"
migclock_paths > "$tmp/after"
if ! diff "$tmp/before" "$tmp/after"; then fail "purge left the paths above ('>' lines)"; fi

# The other case: another qemu hook is already there (when the machine had
# none, plant one, and take it away at the end). It must survive install
# and purge byte for byte; ours goes to qemu.d/50-migclock and back out.
if [ -z "$hook_before" ]; then
  planted=$hooks/qemu
  printf '#!/bin/sh\n# foreign hook planted by migclock package_install test %s\nexit 0\n' "$$" > "$planted"
  chmod 0755 "$planted"
  foreign=$(sha256sum < "$planted")
  out=$(dpkg_wait -i "${debs[0]}") || fail "dpkg -i with a foreign hook: $out"
  echo "$out" | grep -q 'another qemu hook exists' || fail "postinst did not say it left the foreign hook alone: $out"
  [ "$(sha256sum < "$planted")" = "$foreign" ] || fail "postinst clobbered a foreign $hooks/qemu"
  cmp -s /usr/bin/migclock-hook "$hooks/qemu.d/50-migclock" || fail "no drop-in next to the foreign hook"
  out=$(dpkg_wait -P migclock-agent) || fail "dpkg -P: $out"
  [ "$(sha256sum < "$planted")" = "$foreign" ] || fail "purge touched a foreign $hooks/qemu"
  [ ! -e "$hooks/qemu.d/50-migclock" ] || fail "purge left the drop-in"
  rm -f "$planted"
  planted=""
  rmdir "$hooks/qemu.d" 2>/dev/null || true
  migclock_paths > "$tmp/after"
  if ! diff "$tmp/before" "$tmp/after"; then fail "purge (foreign hook case) left the paths above"; fi
  echo "foreign qemu hook kept byte for byte; drop-in installed and purged: OK"
fi
# The guest companion's package (meant for guests; installing it here only
# records its unit: this host has no org.migclock.clock.0 port, so nothing
# starts): enabled, the binary answers --help, purge leaves nothing.
guest_deb=$pkg/migclock-guest_${version}_${arch}.deb
out=$(dpkg_wait -i "$guest_deb") || fail "dpkg -i migclock-guest: $out"
echo "$out" | grep -q 'starts when the domain has the org.migclock.clock.0 channel' \
  || fail "migclock-guest postinst did not say when the companion starts: $out"
ls /etc/systemd/system/*.wants/migclock-guest-companion.service >/dev/null 2>&1 \
  || fail "migclock-guest-companion.service not enabled"
if pgrep -f '^/usr/sbin/migclock-guest-companion' >/dev/null; then fail "installing started the companion"; fi
/usr/sbin/migclock-guest-companion --help | grep -q 'usage: migclock-guest-companion' || fail "companion --help"
out=$(dpkg_wait -P migclock-guest) || fail "dpkg -P migclock-guest: $out"
migclock_paths > "$tmp/after"
if ! diff "$tmp/before" "$tmp/after"; then fail "purge of migclock-guest left the paths above"; fi
echo "migclock-guest: installed enabled, not started; purged clean: OK"
echo "package install/remove/purge: OK"
