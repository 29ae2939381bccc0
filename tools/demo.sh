#!/usr/bin/env bash
# demo.sh — migclock's main job, end to end on this machine (as root).
#
# Usage: bash tools/demo.sh [--migrations N] [--suspends M] [--out DIR] [--keep]
#                           [--arms LIST] [--busy]
#   --migrations N  live migrations per arm, back and forth between the two
#                   libvirt daemons (default 5)
#   --suspends M    suspend/resume cycles of 3 s per arm (default 2)
#   --out DIR       where report.json and clock.png go (default demo-out/)
#   --keep          leave everything running afterwards (ROOT/stop.sh undoes it)
#   --arms LIST     comma-separated subset of the arms below (default: all)
#   --busy          every guest runs a CPU-bound loop (migclock.busy=1)
#
# It installs what is missing, builds what it runs, then starts: the
# migclock hook in /etc/libvirt/hooks (for this run only, never over an
# existing hook), two sandboxed libvirt session daemons, the controller (TLS
# with dev certificates, SQLite in a temporary dir), one migclock-agent per
# daemon, and five TCG test guests — one per arm:
#   migclock     the agents repair the guest's clock after every event,
#                through qemu-ga (this guest has no companion channel)
#   migclock_learned (only with --arms) the same, less qemu-ga's asymmetry
#                as learned from the companion guest's syncs
#                (qga_bias_from_companion; an A/B pair with migclock)
#   companion    the same agents, through the guest companion (guest/)
#   none         the same events, the same agents, sync_policy = off for it
#   settime_now  what KubeVirt does: virDomainSetTime(now) as soon as libvirt
#                shows the guest running again
#   domtime_sync what `virsh domtime --sync` does, at the same moment: the
#                guest sets its clock from its RTC (qemu-ga: hwclock -s)
# Each event of each arm is judged through the guest's own time-probe
# virtio-serial port (tools/timeprobe), never through the guest agent that
# migclock and the peers repair through. It prints the arms side by side and
# the controller's record of every migration, writes OUT/report.json and
# OUT/clock.png; where /dev/kvm exists it then runs the owned-VMM part.
# About 3–4 minutes on 2 cores once built. Exit 0 only when every arm ran.
# Environment: MIGCLOCK_SANDBOX_DIR (ROOT, default /tmp/mcdemo-<pid>, ≤ 40
# bytes), BUILD_DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }
die() { echo "demo: $*" >&2; exit 1; }
warn() { echo "demo: $*" >&2; }
say() { echo "  $*"; }

migrations=5 suspends=2 out=demo-out keep=0 arm_list=migclock,companion,none,settime_now,domtime_sync
arm_re="migclock|migclock_learned|companion|none|settime_now|domtime_sync"
int_arg() {  # flag value min max
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] \
    || { echo "demo: $1: '$2' is not an integer in [$3, $4]" >&2; usage >&2; exit 2; }
}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --migrations) [ $# -ge 2 ] || { echo "demo: --migrations needs a value" >&2; exit 2; }
                  int_arg "$1" "$2" 1 50; migrations=$2; shift ;;
    --suspends) [ $# -ge 2 ] || { echo "demo: --suspends needs a value" >&2; exit 2; }
                int_arg "$1" "$2" 0 50; suspends=$2; shift ;;
    --out) [ $# -ge 2 ] && [ -n "$2" ] || { echo "demo: --out needs a directory" >&2; exit 2; }
           out=$2; shift ;;
    --keep) keep=1 ;;
    --busy) export MIGCLOCK_GUEST_BUSY=1 ;;
    --arms) [ $# -ge 2 ] && [[ "$2" =~ ^($arm_re)(,($arm_re))*$ ]] \
              || { echo "demo: --arms wants a comma-separated list of ${arm_re//|/,}" >&2; exit 2; }
            arm_list=$2; shift ;;
    *) echo "demo: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || die "run as root: it creates the sandbox daemons' users and installs the libvirt hook"

started=$SECONDS
bash "$repo/tools/setup.sh"
build=${BUILD_DIR:-$repo/build}
bin="$build/bin"
targets=(migclock-agent migclock-hook migclock-controller migclockctl migclock-timeprobe migclock-settime-now)
[ -e /dev/kvm ] && targets+=(migclock migclock-testvmm)
echo "demo: building ${targets[*]}"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/demo-build.log" 2>&1 \
  || { tail -30 "$build/demo-build.log" >&2; die "build failed (log: $build/demo-build.log)"; }

ROOT=${MIGCLOCK_SANDBOX_DIR:-/tmp/mcdemo-$$}
[ ${#ROOT} -le 40 ] || die "sandbox dir $ROOT is longer than 40 bytes (QEMU's unix socket paths live under it)"
[ ! -e "$ROOT/stop.sh" ] || die "$ROOT has a run's stop.sh: stop that run first ($ROOT/stop.sh)"
mkdir -p "$ROOT" && chmod 0755 "$ROOT"
work="$ROOT/run"
mkdir -p "$work" "$out"
out=$(cd "$out" && pwd)
ctl_port=$((21000 + $$ % 2000))
mig_port=$((49600 + $$ % 300))
watch_s=2.5
suspend_s=3
IFS=, read -r -a arms <<<"$arm_list"
declare -A guest=([migclock]=mc-migclock [companion]=mc-companion [none]=mc-none [settime_now]=mc-settime
                  [domtime_sync]=mc-domtime [migclock_learned]=mc-learned) loc=()
# The migclock arm's guest has no companion channel, so the agent repairs it
# through qemu-ga; the same setting must make its migrations' DEST.xml.
companion_env() { case $1 in migclock|migclock_learned) echo 0 ;; *) echo 1 ;; esac; }

# shellcheck source=tools/demo/stack.sh
. "$repo/tools/demo/stack.sh"
# shellcheck source=tools/demo/arms.sh
. "$repo/tools/demo/arms.sh"
# shellcheck source=tools/demo/owned_vmm.sh
. "$repo/tools/demo/owned_vmm.sh"

undo "rm -rf '$ROOT'"
finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ $keep -eq 1 ]; then
    echo "demo: --keep: everything is still running; $ROOT/stop.sh stops it and removes its files"
  else
    bash "$ROOT/stop.sh" >/dev/null 2>&1 || true
  fi
  exit $rc
}
trap finish EXIT
trap 'echo; warn "interrupted: stopping what it started"; exit 130' INT TERM

echo "== starting: hook, libvirt daemons, controller, agents, guests =="
install_hook
"$S" guest "$ROOT" >/dev/null 2>"$work/guest-build.log" || { cat "$work/guest-build.log" >&2; die "test guest build failed"; }
start_daemons
start_controller
start_agents
start_guests
for arm in "${arms[@]}"; do loc[$arm]=0; done

echo
echo "== events: $migrations live migrations and $suspends suspend/resume cycles (${suspend_s} s) per arm =="
echo "   (before: after lining the guest up with virDomainSetTime(now); after: the judge ${watch_s} s after the resume,"
echo "    which is the guest's first time-probe answer after its pause)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: > "$work/events.jsonl"
failed=0
for ((i = 1; i <= migrations; i++)); do
  for arm in "${arms[@]}"; do run_event "$arm" migration "$i" "$migrations" || failed=$((failed + 1)); done
done
for ((i = 1; i <= suspends; i++)); do
  for arm in "${arms[@]}"; do run_event "$arm" suspend "$i" "$suspends" || failed=$((failed + 1)); done
done

echo
echo "== the judge: |guest − host| ${watch_s} s after each event, and time from resume until it stayed within the bound =="
"$bin/migclock-timeprobe" report --events "$work/events.jsonl" --out "$out" || die "report failed"
echo "   ± is the largest uncertainty of the row's figures (min RTT/2 + scatter of the kept exchanges)"
echo "   settle times are of 3-exchange points every 20 ms, each ± its own half-RTT"

echo
echo "== the controller's view (migclockctl migrations list) =="
ctl=("$bin/migclockctl" --server "https://127.0.0.1:$ctl_port" --token "$(cat "$work/read.token")" --ca "$work/certs/ca.pem")
for _ in $(seq 30); do  # the destination reports its sync a moment after it
  # (the peers' records stay open: no agent syncs them)
  [ "$("${ctl[@]}" --json migrations list --active | jq .total)" = 0 ] && break
  sleep 0.5
done
"${ctl[@]}" migrations list --limit 100 || warn "migclockctl failed"
"${ctl[@]}" --json migrations list --limit 100 > "$work/migrations.json" || echo '{"items":[]}' > "$work/migrations.json"
jq -r '.items | sort_by(.created_ns // .updated_ns)[] |
  "  \(.vm_name) \(.source) → \(if .destination == "" then "?" else .destination end): \([.history[].phase] | join(" → "))  residual \((.results.verification.residual_ns // .results.residual_ns) as $r | if $r == null then "—" else "\($r / 1000 | round) µs (the agent'"'"'s own measurement)" end)"' \
  "$work/migrations.json" || warn "cannot read the controller's migrations"

# report.json: the judge's figures plus how this run was made and the
# controller's record.
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cp "$work/events.jsonl" "$out/events.jsonl"
jq --arg load_before "$load_before" --arg load_after "$load_after" --argjson migrations "$migrations" --argjson suspends "$suspends" --argjson watch_s "$watch_s" \
  --argjson suspend_s "$suspend_s" --slurpfile ctl "$work/migrations.json" \
  '. + {config: {migrations: $migrations, suspends: $suspends, suspend_s: $suspend_s, watch_s: $watch_s,
     guest: "TCG, 1 vCPU, 192 MiB, two libvirt session daemons on one host", busy: '"${MIGCLOCK_GUEST_BUSY:-0}"',
     loadavg_before: $load_before, loadavg_after: $load_after, cpus: '"$(nproc)"'},
     controller_migrations: [$ctl[0].items[] | {vm: .vm_name, source, destination, phase,
       phases: [.history[].phase], results}]}' "$out/report.json" > "$out/report.json.new"
mv "$out/report.json.new" "$out/report.json"
plot_arms=$(sed -n 's/^# \([a-z_]*\) migration .*/\1/p' "$out/clock.dat" | tr '\n' ' ')
gnuplot -e "dat='$out/clock.dat'; png='$out/clock.png'; arms='$plot_arms'" "$repo/tools/demo/clock.gp" 2>"$work/gnuplot.err" \
  || warn "gnuplot failed: $(cat "$work/gnuplot.err")"
rm -f "$out/clock.dat"
echo
echo "wrote $out/report.json, $out/clock.png and $out/events.jsonl (every judged event, raw); load average $load_before -> $load_after"

echo
if [ -e /dev/kvm ]; then
  owned_vmm_part || failed=$((failed + 1))
else
  echo "no /dev/kvm on this host: skipping the owned-VMM part (it embeds KVM); the libvirt guests above ran under TCG"
fi
echo
expected=$((${#arms[@]} * (migrations + suspends)))
ran=$(wc -l < "$work/events.jsonl")
echo "demo: $ran of $expected events judged, $((SECONDS - started)) s"
[ "$ran" -eq "$expected" ] && [ $failed -eq 0 ] || die "not every arm ran every event ($failed failures)"
