# Sourced by tools/demo.sh: the owned-VMM part (needs /dev/kvm). It
#  1. probes this host's KVM clock capabilities (what it can honour),
#  2. live-migrates the test VMM's guest between two processes on this host,
#     once restored precisely (migclock) and once by value (as QEMU does),
#  3. does the same migration through two agents and the controller: the
#     source VMM hands its snapshot to its agent, which ships it to the
#     controller; the destination VMM asks its own agent for the restore
#     inputs, which carry the controller-measured offset between the two
#     "hosts'" clocks (libvirt's test:///default driver: no libvirt domain).
# Returns non-zero when a part failed. Needs: bin work undo say warn.
owned_vmm_part() {
  local status=0 rc mode port=$((ctl_port + 1)) d="$work/owned" pid h
  echo "== host probe (migclock probe) =="
  "$bin/migclock" probe || status=$?
  echo
  for mode in precise by-value; do
    echo "== owned VMM: migration of the test VMM guest: 2 vCPUs, 200 ms pause, mode $mode =="
    # A precise-mode violation (exit 4) or refusal fails the demo; by value
    # loses the blackout by design and exits 0.
    rc=0
    "$bin/migclock-testvmm" migrate --vcpus 2 --pause-ms 200 --mode "$mode" --json || rc=$?
    [ $rc -eq 0 ] || { warn "migclock-testvmm migrate --mode $mode exited $rc"; status=$rc; }
    echo
  done
  echo "== owned VMM through migclock-agent x2 + migclock-controller =="
  mkdir -p "$d"
  for h in src dst; do  # one agent token per host
    "$bin/migclock-controller" token create --data-dir "$d/ctl" --scope agent --host "demo-$h" > "$d/agent-$h.token"
  done
  "$bin/migclock-controller" --listen "127.0.0.1:$port" --data-dir "$d/ctl" --plain-http >"$d/controller.log" 2>&1 &
  pid=$!
  undo "kill $pid 2>/dev/null || true"
  for h in src dst; do
    mkdir -p "$d/$h"
    "$bin/migclock-agent" --uri test:///default --socket "$d/$h/agent.sock" --state-dir "$d/$h/state" \
      --hostname "demo-$h" --controller "http://127.0.0.1:$port" --token-file "$d/agent-$h.token" \
      >"$d/agent-$h.log" 2>&1 &
    pid=$!
    undo "kill $pid 2>/dev/null; for _ in \$(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done"
  done
  for _ in $(seq 50); do
    [ -S "$d/src/agent.sock" ] && [ -S "$d/dst/agent.sock" ] && break
    sleep 0.1
  done
  rc=0
  "$bin/migclock-testvmm" migrate --vcpus 2 --pause-ms 200 --agent "$d/src/agent.sock" \
    --to-agent "$d/dst/agent.sock" --name demo-vmm --json || rc=$?
  [ $rc -eq 0 ] || { warn "owned VMM through the agents exited $rc (logs: $d)"; status=$rc; }
  return $status
}
