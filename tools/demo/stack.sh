# Sourced by tools/demo.sh: starts and stops what the demo runs on this host
# — the hook, two sandboxed libvirt session daemons, the controller (TLS,
# SQLite), one agent per daemon, the three guests. Every start records how
# to undo it in $ROOT/stop.sh, which the demo runs on exit (or leaves for
# --keep). Needs: repo bin ROOT work ctl_port (set by demo.sh).

hooks_dir=/etc/libvirt/hooks
hook_marker="migclock-hook:installed-copy:v1"   # hooks/src/install.cpp
S="$repo/tools/libvirt-sandbox/sandbox.sh"

undo() {  # prepends a line to stop.sh: undone in reverse order of starting
  { echo "$*"; cat "$ROOT/stop.sh.tail" 2>/dev/null || true; } > "$ROOT/stop.sh.new"
  mv "$ROOT/stop.sh.new" "$ROOT/stop.sh.tail"
  { echo "#!/usr/bin/env bash"; echo "# written by tools/demo.sh: stops and removes what that run started"
    cat "$ROOT/stop.sh.tail"; } > "$ROOT/stop.sh"
  chmod +x "$ROOT/stop.sh"
}

# libvirt finds hooks when a daemon starts: this runs before the daemons.
# An existing hook is never overwritten: a foreign `qemu` hook makes
# migclock-hook install itself as a qemu.d drop-in next to it, and any
# migclock hook already there (another run, or this host's installation) stops
# the demo instead of being replaced or removed afterwards.
install_hook() {
  local f
  for f in "$hooks_dir/qemu" "$hooks_dir/qemu.d/50-migclock"; do
    if [ -e "$f" ] && grep -qa "$hook_marker" "$f"; then
      die "a migclock hook is already installed at $f (another run, or this host's own installation); the demo installs its own for the run and never replaces one: remove it ('$bin/migclock-hook uninstall') or wait for the run that owns it"
    fi
  done
  [ -d "$hooks_dir" ] || undo "rmdir '$hooks_dir' 2>/dev/null || true"
  [ -d "$hooks_dir/qemu.d" ] || undo "rmdir '$hooks_dir/qemu.d' 2>/dev/null || true"
  local out
  out=$("$bin/migclock-hook" install --json) || die "migclock-hook install failed: $out"
  hook_path=$(jq -r .path <<<"$out")
  # Remove exactly the copy this run installed, and only if it is still ours.
  undo "grep -qa '$hook_marker' '$hook_path' 2>/dev/null && rm -f '$hook_path'"
  say "hook: $(jq -r .note <<<"$out" | sed 's/; libvirt reads.*//') ($hook_path)"
}

start_controller() {
  bash "$repo/tools/make-dev-certs.sh" "$work/certs" 127.0.0.1 localhost >/dev/null
  # One agent token per host: a token acts for the host it is bound to only.
  local i
  for i in 0 1; do
    "$bin/migclock-controller" token create --data-dir "$work/ctl" --scope agent --host "demo-host$i" \
      > "$work/agent$i.token"
  done
  "$bin/migclock-controller" token create --data-dir "$work/ctl" --scope read > "$work/read.token"
  "$bin/migclock-controller" --listen "127.0.0.1:$ctl_port" --data-dir "$work/ctl" \
    --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server.key" >"$work/controller.log" 2>&1 &
  local pid=$!
  undo "kill $pid 2>/dev/null; for _ in \$(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done"
  local n=0
  until curl -sf --cacert "$work/certs/ca.pem" "https://127.0.0.1:$ctl_port/healthz" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || die "controller exited: $(tail -5 "$work/controller.log")"
    n=$((n + 1)); [ $n -lt 100 ] || die "controller: no answer on 127.0.0.1:$ctl_port after 10 s"
    sleep 0.1
  done
  say "controller: https://127.0.0.1:$ctl_port (TLS, dev CA), SQLite journal in $work/ctl"
}

start_daemons() {
  "$S" start 2 "$ROOT" >/dev/null || die "libvirt sandbox: daemons did not start (logs: $ROOT/d*/libvirtd.log)"
  undo "'$S' stop '$ROOT' >/dev/null 2>&1 || true"
  say "libvirt: two session daemons (sandbox $ROOT), URIs $("$S" uri 0 "$ROOT") and …/d1/…"
}

# One agent per daemon, on the socket the hook derives from the daemon's HOME.
# The none, settime_now and domtime_sync guests get sync_policy = off: the same agents see
# their events (capture, hand-off, controller records), they never touch
# those guests' clocks.
start_agents() {
  local i pid
  for i in 0 1; do
    mkdir -p "$ROOT/d$i/migclock" && chown "migclock-sb$i" "$ROOT/d$i/migclock"
    cat > "$work/agent$i.conf" <<CONF
libvirt_uri = $("$S" uri "$i" "$ROOT")
socket = $ROOT/d$i/migclock/agent.sock
socket_group = kvm
state_dir = $work/state$i
hostname = demo-host$i
controller_url = https://127.0.0.1:$ctl_port
controller_token_file = $work/agent$i.token
controller_ca_file = $work/certs/ca.pem
outbox_retry_s = 1
# Learned from the companion guest's syncs; used by migclock_learned only
# (the product's default is off: docs/agent.md).
qga_bias_from_companion = true

[vm ${guest[none]}]
sync_policy = off

[vm ${guest[settime_now]}]
sync_policy = off

[vm ${guest[domtime_sync]}]
sync_policy = off

[vm ${guest[migclock]}]
qga_bias_from_companion = false
CONF
    "$bin/migclock-agent" --config "$work/agent$i.conf" >"$work/agent$i.log" 2>&1 &
    pid=$!
    undo "kill $pid 2>/dev/null; for _ in \$(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done"
  done
  local n=0
  until [ -S "$ROOT/d0/migclock/agent.sock" ] && [ -S "$ROOT/d1/migclock/agent.sock" ]; do
    n=$((n + 1)); [ $n -lt 100 ] || die "agents: no local API after 10 s (logs: $work/agent0.log, agent1.log)"
    sleep 0.1
  done
  say "agents: demo-host0 and demo-host1, one per daemon, reporting to the controller"
}

start_guests() {
  local arm name
  for arm in "${arms[@]}"; do
    name=${guest[$arm]}
    MIGCLOCK_GUEST_COMPANION=$(companion_env "$arm") "$S" create 0 "$name" "$ROOT" >/dev/null || die "guest $name did not start (console: $ROOT/d0/console-$name.log)"
  done
  for arm in "${arms[@]}"; do
    name=${guest[$arm]}
    "$S" wait-agent 0 "$name" 120 "$ROOT" >/dev/null || die "guest $name: qemu-ga never answered (console: $ROOT/d0/console-$name.log)"
    "$bin/migclock-timeprobe" measure --socket "$("$S" probe-socket 0 "$name" "$ROOT")" --wait-ms 30000 >/dev/null \
      || die "guest $name: the time probe never answered (console: $ROOT/d0/console-$name.log)"
  done
  say "guests: $(for a in "${arms[@]}"; do printf '%s ' "${guest[$a]}"; done)(TCG, 1 vCPU, qemu-ga + time probe, companion but in the migclock arms${MIGCLOCK_GUEST_BUSY:+, busy loop}) on daemon 0"
}
