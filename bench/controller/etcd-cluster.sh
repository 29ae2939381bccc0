#!/usr/bin/env bash
# A throwaway local etcd cluster for benchmarks (docs/benchmarks.md):
#   bench/controller/etcd-cluster.sh start DIR [MEMBERS=3] [BASE_PORT=23790]
#   bench/controller/etcd-cluster.sh stop DIR
# Members listen on 127.0.0.1:BASE+2i (clients) and BASE+2i+1 (peers), data
# and logs in DIR; `start` prints the client endpoints, comma-separated.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
if [ "$cmd" = stop ]; then
  for f in "$dir"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  for f in "$dir"/*.pid; do  # gone, ports free, before the next start
    for _ in $(seq 100); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
  done
  exit 0
fi
n=${3:-3}; base=${4:-23790}
mkdir -p "$dir"
cluster=""
for i in $(seq 0 $((n - 1))); do
  cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 2 * i + 1))"
done
endpoints=""
for i in $(seq 0 $((n - 1))); do
  c=http://127.0.0.1:$((base + 2 * i)); p=http://127.0.0.1:$((base + 2 * i + 1))
  etcd --name "m$i" --data-dir "$dir/m$i" --listen-client-urls "$c" --advertise-client-urls "$c" \
    --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" --initial-cluster "$cluster" \
    --initial-cluster-state new --initial-cluster-token migclock-bench --max-request-bytes 33554432 \
    --log-level error --logger zap > "$dir/m$i.log" 2>&1 &
  echo $! > "$dir/m$i.pid"
  endpoints+="${endpoints:+,}$c"
done
for i in $(seq 0 $((n - 1))); do
  for _ in $(seq 100); do
    kill -0 "$(cat "$dir/m$i.pid")" 2>/dev/null || { echo "etcd member m$i died: $(head -c 300 "$dir/m$i.log")" >&2; exit 1; }
    curl -sf -X POST "http://127.0.0.1:$((base + 2 * i))/v3/kv/range" -d '{"key":"AA=="}' >/dev/null && break
    sleep 0.1
  done
done
# Every member up and in the cluster (not something else on a port).
members=$(ETCDCTL_API=3 etcdctl --endpoints "$endpoints" member list | wc -l)
[ "$members" -eq "$n" ] || { echo "etcd: $members members listed, expected $n" >&2; exit 1; }
for i in $(seq 0 $((n - 1))); do
  kill -0 "$(cat "$dir/m$i.pid")" 2>/dev/null || { echo "etcd member m$i died: $(head -c 300 "$dir/m$i.log")" >&2; exit 1; }
done
echo "$endpoints"
