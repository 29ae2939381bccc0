#!/usr/bin/env bash
# Side-by-side controller benchmarks: SQLite vs etcd (3 members), 1 and 2 controllers.
# Env: DUR (s per measurement, default 5), CONN2 (connections per controller
# with 2 controllers, default 16), BUILD_DIR (default build/). Uses /tmp/mc-bench.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD_DIR:-$root/build}/bin; W=/tmp/mc-bench; rm -rf $W; mkdir -p $W
"$root/tools/make-dev-certs.sh" $W/certs localhost 127.0.0.1 >/dev/null
C="--tls-cert $W/certs/server.pem --tls-key $W/certs/server.key --log-level warn"
H="--ca $W/certs/ca.pem --duration-s ${DUR:-5}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; "$root/bench/controller/etcd-cluster.sh" stop $W/etcd; }
trap cleanup EXIT
start_ctl() { # port args...
  local port=$1; shift
  $B/migclock-controller --listen 127.0.0.1:$port "$@" $C > $W/ctl-$port.out 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening port" $W/ctl-$port.out && return; sleep 0.1; done
  echo "controller $port did not start"; cat $W/ctl-$port.out; exit 1
}
echo "== load: $(cut -d" " -f1-3 /proc/loadavg)"
# SQLite, 1 controller
mkdir $W/sq
T=$($B/migclock-controller token create --data-dir $W/sq --scope agent --host hv-a)
start_ctl 18501 --data-dir $W/sq
echo "sqlite1 get: $($B/migclock-bench-controller get --server https://127.0.0.1:18501 --token $T $H --connections 8)"
echo "sqlite1 records: $($B/migclock-bench-controller records --server https://127.0.0.1:18501 --token $T $H --connections 32)"
echo "== load: $(cut -d" " -f1-3 /proc/loadavg)"
# etcd, 3 members
EP=$("$root/bench/controller/etcd-cluster.sh" start $W/etcd 3 23790)
E="--store etcd --etcd-endpoints $EP"
T=$($B/migclock-controller token create $E --scope agent --host hv-a)
start_ctl 18502 $E
echo "etcd1 get: $($B/migclock-bench-controller get --server https://127.0.0.1:18502 --token $T $H --connections 8)"
echo "etcd1 records: $($B/migclock-bench-controller records --server https://127.0.0.1:18502 --token $T $H --connections 32)"
echo "== load: $(cut -d" " -f1-3 /proc/loadavg)"
start_ctl 18503 $E
for mode in get records; do
  n=$([ $mode = get ] && echo 4 || echo ${CONN2:-16})
  $B/migclock-bench-controller $mode --server https://127.0.0.1:18502 --token $T $H --connections $n > $W/a.json &
  a=$!
  $B/migclock-bench-controller $mode --server https://127.0.0.1:18503 --token $T $H --connections $n > $W/b.json
  wait $a
  echo "etcd2 $mode A: $(cat $W/a.json)"
  echo "etcd2 $mode B: $(cat $W/b.json)"
done
echo "== load: $(cut -d" " -f1-3 /proc/loadavg)"
echo "etcd migrations stored: $(ETCDCTL_API=3 etcdctl --endpoints ${EP%%,*} get --prefix /migclock/migrations/ --keys-only --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count",0))')"
