#!/usr/bin/env bash
# What the packages hold, read with dpkg-deb only (no installation).
set -euo pipefail
src=$1 pkg=$2
fail() { echo "FAIL: $*"; exit 1; }
version=$(sed -n 's/^project(migclock VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "MODE PATH" of every entry; dpkg-deb prints "drwxr-xr-x root/root 0 date time ./path".
listing() { dpkg-deb --contents "$1" | awk '{ p = $6; sub(/^\./, "", p); print $1, $2, p }'; }

# expect DEB MODE PATH: the entry exists, root-owned, with that mode.
expect() {
  local deb=$1 mode=$2 path=$3 line
  line=$(grep -E " $path\$" "$tmp/$(basename "$deb").list" || true)
  [ -n "$line" ] || fail "$(basename "$deb"): no $path"
  [ "${line%% *}" = "$mode" ] || fail "$(basename "$deb"): $path has mode ${line%% *}, want $mode"
  [ "$(echo "$line" | cut -d' ' -f2)" = root/root ] || fail "$(basename "$deb"): $path not root/root: $line"
}

check_package() {
  local name=$1 conffiles=$2 deb
  shift 2
  deb=$pkg/${name}_${version}_${arch}.deb
  [ -f "$deb" ] || fail "$deb not built (have: $(ls "$pkg"))"
  listing "$deb" > "$tmp/$(basename "$deb").list"
  dpkg-deb --info "$deb" > "$tmp/info"
  grep -q "^ Package: $name\$" "$tmp/info" || fail "$name: wrong Package field"
  grep -q "^ Version: $version\$" "$tmp/info" || fail "$name: wrong Version field"
  grep -q "^ Architecture: $arch\$" "$tmp/info" || fail "$name: wrong Architecture"
  # Control area: scripts executable, conffiles exactly the /etc files.
  dpkg-deb --control "$deb" "$tmp/$name.ctl"
  for s in postinst prerm postrm; do
    [ "$(stat -c %a "$tmp/$name.ctl/$s")" = 755 ] || fail "$name: $s is not 0755"
    sh -n "$tmp/$name.ctl/$s" || fail "$name: $s has a syntax error"
  done
  local got_conf=""
  [ -f "$tmp/$name.ctl/conffiles" ] && got_conf=$(sort "$tmp/$name.ctl/conffiles" | tr '\n' ' ')
  [ "$got_conf" = "$conffiles" ] || fail "$name: conffiles '$got_conf', want '$conffiles'"
  local etc_files
  etc_files=$(awk '$1 !~ /^d/ && $3 ~ /^\/etc\// { print $3 }' "$tmp/$(basename "$deb").list" | sort | tr '\n' ' ')
  [ "$etc_files" = "$conffiles" ] || fail "$name: files under /etc '$etc_files' are not exactly the conffiles"
  # Depends: what dpkg-shlibdeps derived from the linked libraries.
  local depends
  depends=$(dpkg-deb --field "$deb" Depends)
  for want in "$@"; do
    echo "$depends" | grep -Eq "(^|, )$want( |,|$)" || fail "$name: Depends lacks $want: $depends"
  done
  # Nothing from the test tree or /usr/local.
  if grep -Eq 'testvmm|_tests$|/usr/local/' "$tmp/$(basename "$deb").list"; then
    fail "$name: ships test binaries or /usr/local paths"
  fi
  echo "$name: $(grep -vc '^d' "$tmp/$(basename "$deb").list") files; Depends: $depends"
}

check_package migclock-agent "/etc/migclock/agent.conf /etc/migclock/hook.conf " \
  libvirt0 libsystemd0 libssl3 libstdc\\+\\+6
agent=$pkg/migclock-agent_${version}_${arch}.deb
for b in migclock-agent migclock-hook migclock; do
  expect "$agent" -rwxr-xr-x /usr/bin/$b
  expect "$agent" -rw-r--r-- /usr/share/man/man1/$b.1.gz
done
expect "$agent" -rw-r--r-- /usr/lib/systemd/system/migclock-agent.service
expect "$agent" -rw-r--r-- /etc/migclock/agent.conf
expect "$agent" -rw-r--r-- /etc/migclock/hook.conf
expect "$agent" -rw-r--r-- /usr/share/doc/migclock-agent/operations.md
grep -q ' /usr/bin/migclock-controller$' "$tmp/$(basename "$agent").list" && fail "migclock-agent ships the controller"

check_package migclock-controller "" libsqlite3-0 libsystemd0 libssl3
controller=$pkg/migclock-controller_${version}_${arch}.deb
for b in migclock-controller migclockctl; do
  expect "$controller" -rwxr-xr-x /usr/bin/$b
  expect "$controller" -rw-r--r-- /usr/share/man/man1/$b.1.gz
done
expect "$controller" -rw-r--r-- /usr/lib/systemd/system/migclock-controller.service
expect "$controller" -rw-r--r-- /usr/share/doc/migclock-controller/alerts.yml
expect "$controller" -rw-r--r-- /usr/share/doc/migclock-controller/dashboard.json

# Units name the packaged binaries and docs, nothing of the build.
dpkg-deb --fsys-tarfile "$agent" | tar -xO ./usr/lib/systemd/system/migclock-agent.service > "$tmp/agent.service"
grep -qx 'ExecStart=/usr/bin/migclock-agent --config /etc/migclock/agent.conf' "$tmp/agent.service" \
  || fail "agent unit ExecStart: $(grep ExecStart "$tmp/agent.service")"
grep -qx 'Documentation=file:///usr/share/doc/migclock-agent/agent.md' "$tmp/agent.service" || fail "agent unit Documentation"
dpkg-deb --fsys-tarfile "$controller" | tar -xO ./usr/lib/systemd/system/migclock-controller.service > "$tmp/ctl.service"
grep -q '^ExecStart=/usr/bin/migclock-controller ' "$tmp/ctl.service" || fail "controller unit ExecStart"
if grep -q '@MIGCLOCK_' "$tmp/agent.service" "$tmp/ctl.service"; then fail "unsubstituted @MIGCLOCK_...@ in a unit"; fi
# The guest companion's package: its binary, unit and docs only; nothing of the host side.
check_package migclock-guest "" libc6
guest=$pkg/migclock-guest_${version}_${arch}.deb
expect "$guest" -rwxr-xr-x /usr/sbin/migclock-guest-companion
expect "$guest" -rw-r--r-- /usr/lib/systemd/system/migclock-guest-companion.service
expect "$guest" -rw-r--r-- /usr/share/doc/migclock-guest/guest-companion.md
expect "$guest" -rw-r--r-- /usr/share/man/man1/migclock-guest-companion.1.gz
grep -Eq ' /usr/bin/migclock(-agent|-hook|-controller|ctl)?$' "$tmp/$(basename "$guest").list" \
  && fail "migclock-guest ships a host binary"
dpkg-deb --fsys-tarfile "$guest" | tar -xO ./usr/lib/systemd/system/migclock-guest-companion.service > "$tmp/guest.service"
grep -qx 'ExecStart=/usr/sbin/migclock-guest-companion' "$tmp/guest.service" \
  || fail "guest unit ExecStart: $(grep ExecStart "$tmp/guest.service")"
if grep -q '@MIGCLOCK_' "$tmp/guest.service"; then fail "unsubstituted @MIGCLOCK_...@ in the guest unit"; fi
# The shipped agent.conf parses (every line a comment is still a file the agent must accept).
dpkg-deb --fsys-tarfile "$agent" | tar -xO ./etc/migclock/agent.conf > "$tmp/agent.conf"
grep -q 'controller_url' "$tmp/agent.conf" || fail "agent.conf does not document controller_url"
echo "package contents: OK"
