#!/usr/bin/env bash
# sandbox.sh — independent *session* libvirt daemons side by side on one
# machine, a TCG test guest on them, and live migration between them.
# Must run as root (it creates the daemon users and drops to them).
#
# Every daemon i (0..N-1) of a sandbox ROOT runs as the unprivileged user
# migclock-sb<i> (group kvm) with HOME=ROOT/d<i> and its own XDG_* dirs, and
# its own host_uuid in $XDG_CONFIG_HOME/libvirt/libvirtd.conf (libvirt refuses
# to migrate between daemons that share a host UUID). Sandboxes with
# different ROOTs are independent (tests running in parallel use different
# ROOTs, domain names and migration ports). Keep ROOT short (<= 40 bytes):
# QEMU's unix sockets live under it and sun_path holds 107 bytes.
#
# Usage (ROOT defaults to $MIGCLOCK_SANDBOX_DIR, else /tmp/migclock-sandbox):
#   sandbox.sh start N [ROOT]          start daemons 0..N-1 (idempotent)
#   sandbox.sh stop [ROOT]             destroy their domains, stop the daemons
#   sandbox.sh uri I [ROOT]            print daemon I's URI:
#                                      qemu+unix:///session?socket=ROOT/d<I>/run/libvirt/libvirt-sock
#   sandbox.sh env I [ROOT]            print shell assignments for daemon I
#                                      (SANDBOX_URI, SANDBOX_USER, SANDBOX_HOME,
#                                      SANDBOX_HOST_UUID, SANDBOX_PID)
#   sandbox.sh guest [ROOT]            build/copy the test guest into ROOT/guest
#                                      (tools/guest/build-guest.sh, cached)
#   sandbox.sh xml I NAME [ROOT]       print the domain XML of guest NAME for daemon I
#   sandbox.sh probe-socket I NAME [ROOT]
#                                      print the unix socket of NAME's time-probe
#                                      channel on daemon I (tools/timeprobe)
#   sandbox.sh create I NAME [ROOT]    define + start guest NAME on daemon I
#   sandbox.sh wait-agent I NAME [TIMEOUT_S] [ROOT]
#                                      wait until the guest agent answers guest-ping
#   sandbox.sh migrate SRC DST NAME PORT [ROOT] [-- extra virsh migrate args]
#                                      live-migrate NAME from daemon SRC to DST:
#                                      virsh -c SRC_URI migrate --live NAME DST_URI
#                                        --migrateuri tcp://127.0.0.1:PORT --xml DEST.xml
#   sandbox.sh virsh I [ROOT] -- ARGS  run virsh against daemon I
#   sandbox.sh prioritize NICE [ROOT]  renice every thread of this sandbox's daemons
#                                      and QEMUs (e.g. -10): isolates a benchmark
#                                      from unrelated load on a shared machine
#
# Hooks: a session daemon runs the same /etc/libvirt/hooks/qemu (and
# qemu.d/*) as the system daemon, with HOME/USER/LOGNAME/TMPDIR/PATH of the
# daemon (see docs/libvirt-integration.md) — the per-daemon HOME is what lets
# a hook find the agent of the daemon that called it. libvirt looks for
# hooks when the daemon starts: install hooks before `start`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "sandbox: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }
default_root() { echo "${MIGCLOCK_SANDBOX_DIR:-/tmp/migclock-sandbox}"; }

user_of() { echo "migclock-sb$1"; }
home_of() { echo "$1/d$2"; }
pidfile_of() { echo "$(home_of "$1" "$2")/run/libvirt/libvirtd.pid"; }
sock_of() { echo "$(home_of "$1" "$2")/run/libvirt/libvirt-sock"; }
uri_of() { echo "qemu+unix:///session?socket=$(sock_of "$1" "$2")"; }

ensure_user() {
  local user; user=$(user_of "$1")
  (  # sandboxes started in parallel share the users: create each once
    flock 8
    getent group kvm >/dev/null || groupadd --system kvm
    if ! id "$user" >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -G kvm "$user"
    fi
  ) 8>/tmp/.migclock-sandbox-users.lock
}

# Runs a command as daemon I's user with that daemon's environment.
as_daemon_user() {
  local root=$1 i=$2; shift 2
  local home; home=$(home_of "$root" "$i")
  local user; user=$(user_of "$i")
  setpriv --reuid="$user" --regid="$user" --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" USER="$user" LOGNAME="$user" \
      TMPDIR="$home/tmp" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" \
      XDG_DATA_HOME="$home/.local/share" XDG_STATE_HOME="$home/.local/state" \
      XDG_RUNTIME_DIR="$home/run" LC_ALL=C "$@"
}

start_one() {
  local root=$1 i=$2 home user pidfile
  home=$(home_of "$root" "$i"); user=$(user_of "$i"); pidfile=$(pidfile_of "$root" "$i")
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && [ -S "$(sock_of "$root" "$i")" ]; then
    return 0
  fi
  ensure_user "$i"
  mkdir -p "$home"/{.config/libvirt,.cache,.local/share,.local/state,run,tmp}
  if [ ! -f "$home/host_uuid" ]; then
    cat /proc/sys/kernel/random/uuid > "$home/host_uuid"
  fi
  cat > "$home/.config/libvirt/libvirtd.conf" <<EOF
# written by tools/libvirt-sandbox/sandbox.sh
host_uuid = "$(cat "$home/host_uuid")"
log_outputs = "3:file:$home/libvirtd.log"
EOF
  chown -R "$user:$user" "$home"
  chmod 0755 "$home"   # the guest's files and root's clients traverse it
  rm -f "$pidfile"
  # --daemon returns once the daemon is initialised and has written its
  # pidfile ($XDG_RUNTIME_DIR/libvirt/libvirtd.pid).
  as_daemon_user "$root" "$i" libvirtd --daemon >"$home/libvirtd.stdout" 2>&1 </dev/null \
    || { cat "$home/libvirtd.stdout" >&2; die "daemon $i failed to start"; }
  local n=0
  until [ -S "$(sock_of "$root" "$i")" ] && virsh -q -c "$(uri_of "$root" "$i")" version >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -lt 300 ] || die "daemon $i: no socket after 30 s"
    sleep 0.1
  done
}

cmd_start() {
  local n=${1:?usage: start N [ROOT]} root=${2:-$(default_root)}
  [ "$(id -u)" -eq 0 ] || die "start must run as root"
  mkdir -p "$root"; chmod 0755 "$root"
  for ((i = 0; i < n; i++)); do start_one "$root" "$i"; echo "daemon $i: $(uri_of "$root" "$i")"; done
}

cmd_stop() {
  local root=${1:-$(default_root)} d i pid
  [ -d "$root" ] || return 0
  for d in "$root"/d*; do
    i=${d##*/d}
    [ -f "$(pidfile_of "$root" "$i")" ] || continue
    local uri; uri=$(uri_of "$root" "$i")
    for dom in $(virsh -q -c "$uri" list --name 2>/dev/null); do virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1 || true; done
    for dom in $(virsh -q -c "$uri" list --all --name 2>/dev/null); do virsh -q -c "$uri" undefine "$dom" >/dev/null 2>&1 || true; done
    pid=$(cat "$(pidfile_of "$root" "$i")")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$(pidfile_of "$root" "$i")"
    echo "daemon $i: stopped"
  done
}

cmd_env() {
  local i=${1:?usage: env I [ROOT]} root=${2:-$(default_root)} home
  home=$(home_of "$root" "$i")
  echo "SANDBOX_URI='$(uri_of "$root" "$i")'"
  echo "SANDBOX_USER='$(user_of "$i")'"
  echo "SANDBOX_HOME='$home'"
  echo "SANDBOX_HOST_UUID='$(cat "$home/host_uuid" 2>/dev/null)'"
  echo "SANDBOX_PID='$(cat "$(pidfile_of "$root" "$i")" 2>/dev/null)'"
}

cmd_guest() {
  local root=${1:-$(default_root)}
  mkdir -p "$root"
  local cache=${MIGCLOCK_GUEST_DIR:-$repo/build-guest}
  bash "$repo/tools/guest/build-guest.sh" "$cache" >&2
  mkdir -p "$root/guest"; chmod 0755 "$root" "$root/guest"
  for f in vmlinuz initrd.img; do
    cmp -s "$cache/$f" "$root/guest/$f" 2>/dev/null || cp "$cache/$f" "$root/guest/$f"
    chmod 0644 "$root/guest/$f"
  done
  echo "$root/guest"
}

uuid_for_name() {  # stable per name, so DEST.xml carries the same UUID
  local h; h=$(printf '%s' "$1" | sha256sum | cut -c1-32)
  echo "${h:0:8}-${h:8:4}-4${h:13:3}-8${h:17:3}-${h:20:12}"
}

cmd_xml() {
  local i=${1:?usage: xml I NAME [ROOT]} name=${2:?usage: xml I NAME [ROOT]} root=${3:-$(default_root)}
  [ -s "$root/guest/vmlinuz" ] || cmd_guest "$root" >/dev/null
  local home; home=$(home_of "$root" "$i")
  bash "$repo/tools/guest/make-domain-xml.sh" "$name" "$(uuid_for_name "$name")" \
    "$root/guest/vmlinuz" "$root/guest/initrd.img" "$home/console-$name.log" "${MIGCLOCK_GUEST_MEMORY_MIB:-192}" \
    "$home/ga-$name.sock" "$home/tp-$name.sock" "$home/cc-$name.sock"
}

cmd_create() {
  local i=${1:?usage: create I NAME [ROOT]} name=${2:?usage: create I NAME [ROOT]} root=${3:-$(default_root)}
  local uri; uri=$(uri_of "$root" "$i")
  local xml; xml=$(home_of "$root" "$i")/$name.xml
  cmd_xml "$i" "$name" "$root" > "$xml"
  chmod 0644 "$xml"
  virsh -q -c "$uri" define "$xml" >/dev/null
  virsh -q -c "$uri" start "$name" >/dev/null
  echo "$name: started on daemon $i"
}

cmd_wait_agent() {
  local i=${1:?} name=${2:?} timeout=${3:-90} root=${4:-$(default_root)}
  local uri; uri=$(uri_of "$root" "$i")
  local deadline=$((SECONDS + timeout))
  until virsh -q -c "$uri" qemu-agent-command "$name" '{"execute":"guest-ping"}' --timeout 2 >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$name: guest agent not answering after ${timeout}s"
    sleep 0.5
  done
  echo "$name: guest agent up"
}

cmd_migrate() {
  local src=${1:?usage: migrate SRC DST NAME PORT} dst=${2:?} name=${3:?} port=${4:?}
  shift 4
  local root; root=$(default_root)
  if [ $# -gt 0 ] && [ "$1" != "--" ]; then root=$1; shift; fi
  [ "${1:-}" = "--" ] && shift
  local dxml; dxml=$(home_of "$root" "$dst")/$name.xml
  cmd_xml "$dst" "$name" "$root" > "$dxml"
  chmod 0644 "$dxml"
  virsh -q -c "$(uri_of "$root" "$src")" migrate --live "$name" "$(uri_of "$root" "$dst")" \
    --migrateuri "tcp://127.0.0.1:$port" --xml "$dxml" "$@"
  echo "$name: migrated daemon $src -> $dst"
}

cmd_virsh() {
  local i=${1:?usage: virsh I [ROOT] -- ARGS}; shift
  local root; root=$(default_root)
  if [ $# -gt 0 ] && [ "$1" != "--" ]; then root=$1; shift; fi
  [ "${1:-}" = "--" ] && shift
  exec virsh -c "$(uri_of "$root" "$i")" "$@"
}

cmd_prioritize() {
  local nice=${1:?usage: prioritize NICE [ROOT]} root=${2:-$(default_root)} pids=() pid tid
  for f in "$root"/d*/run/libvirt/libvirtd.pid; do [ -f "$f" ] && pids+=("$(cat "$f")"); done
  # QEMU's command line names the guest kernel under this ROOT.
  while read -r pid; do pids+=("$pid"); done < <(pgrep -f -- "-kernel $root/guest/vmlinuz" || true)
  for pid in "${pids[@]}"; do
    for tid in /proc/"$pid"/task/*; do renice -n "$nice" -p "${tid##*/}" >/dev/null 2>&1 || true; done
  done
  echo "prioritized ${#pids[@]} processes at nice $nice"
}

sub=${1:-}
[ -n "$sub" ] || { usage; exit 2; }
shift
case "$sub" in
  -h|--help|help) usage ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  uri) echo "$(uri_of "${2:-$(default_root)}" "${1:?usage: uri I [ROOT]}")" ;;
  env) cmd_env "$@" ;;
  guest) cmd_guest "$@" ;;
  xml) cmd_xml "$@" ;;
  probe-socket) echo "$(home_of "${3:-$(default_root)}" "${1:?usage: probe-socket I NAME [ROOT]}")/tp-${2:?usage: probe-socket I NAME [ROOT]}.sock" ;;
  create) cmd_create "$@" ;;
  wait-agent) cmd_wait_agent "$@" ;;
  migrate) cmd_migrate "$@" ;;
  virsh) cmd_virsh "$@" ;;
  prioritize) cmd_prioritize "$@" ;;
  *) usage >&2; die "unknown command: $sub" ;;
esac
