#!/usr/bin/env bash
# Runs `cartclick bench` scenarios against a release server on a fresh
# loopback Redis, as recorded in BENCHMARKS.md. Everything it starts, it
# stops. Usage: bash benches/load.sh [seconds] [streams] [connections]
#
# CLUSTER=N (N >= 1) runs Redis Cluster instead: N primaries on free ports,
# no replicas, the slots split evenly, and the server on
# redis+cluster://… with the benchmark merchant spread over N shards
# ([merchant_shards]), so its load can reach every primary.
# SCENARIOS="echo issue" picks the scenarios (default: all, then the
# single-stream echo and issue).
# Each run also prints where the CPU went: the cores the server, Redis and
# the load generator used over the measured window (from /proc/<pid>/stat)
# and, divided by the rate, each one's CPU microseconds per call.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN="${1:-10}"; STREAMS="${2:-64}"; CONNECTIONS="${3:-4}"
CLUSTER="${CLUSTER:-0}"
cargo build --release --quiet
BIN=target/release/cartclick
WORK="$(mktemp -d)"; PORT=16480
MERCHANT="bench-merchant"
# A free loopback port whose cluster bus port (+10000) is a valid port too.
free_port() {
  python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p < 55000: print(p); break'
}
if [ "$CLUSTER" -ge 1 ]; then
  REDIS_PORTS=(); for _ in $(seq "$CLUSTER"); do REDIS_PORTS+=("$(free_port)"); done
else
  REDIS_PORTS=(16479)
fi
cleanup() {
  kill "${SERVER:-0}" 2>/dev/null || true
  for p in "${REDIS_PORTS[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for p in "${REDIS_PORTS[@]}"; do
  extra=(); [ "$CLUSTER" -ge 1 ] && extra=(--cluster-enabled yes --cluster-config-file "nodes-$p.conf")
  redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --logfile "$WORK/redis-$p.log" --dir "$WORK" "${extra[@]}"
done
for p in "${REDIS_PORTS[@]}"; do
  until redis-cli -p "$p" ping >/dev/null 2>&1; do sleep 0.1; done
done
SHARDS=""
if [ "$CLUSTER" -ge 1 ]; then
  # Slots by hand (redis-cli --cluster create wants three primaries at least).
  i=0
  for p in "${REDIS_PORTS[@]}"; do
    redis-cli -p "$p" cluster addslotsrange $((16384 * i / CLUSTER)) $((16384 * (i + 1) / CLUSTER - 1)) >/dev/null
    redis-cli -p "$p" cluster meet 127.0.0.1 "${REDIS_PORTS[0]}" >/dev/null
    i=$((i + 1))
  done
  for p in "${REDIS_PORTS[@]}"; do
    until redis-cli -p "$p" cluster info | grep -q "cluster_state:ok" \
      && [ "$(redis-cli -p "$p" cluster nodes | wc -l)" -eq "$CLUSTER" ]; do sleep 0.2; done
  done
  STORE="redis+cluster://$(printf '127.0.0.1:%s,' "${REDIS_PORTS[@]}" | sed 's/,$//')"
  SHARDS="[merchant_shards]
\"$MERCHANT\" = $CLUSTER"
else
  STORE="redis://127.0.0.1:${REDIS_PORTS[0]}/0"
fi
source benches/config.sh
bench_config "$WORK/cartclick.toml" "$SHARDS"
echo "store=$STORE cluster_primaries=$CLUSTER"
RUST_LOG=warn "$BIN" serve --config "$WORK/cartclick.toml" --store "$STORE" --listen "127.0.0.1:$PORT" --http-listen off &
SERVER=$!
sleep 1
# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# The server's, Redis's and the load generator's CPU seconds, summed per role.
cpu_snapshot() { # bench pid
  local redis=0 p pid
  for p in "${REDIS_PORTS[@]}"; do
    pid=$(redis-cli -p "$p" info server | awk -F: '/^process_id/ { print $2 }' | tr -d '\r')
    redis=$(awk -v a="$redis" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }')
  done
  echo "$(date +%s.%N) $(cpu_seconds "$SERVER") $redis $(cpu_seconds "$1")"
}
run() { # scenario streams connections
  for p in "${REDIS_PORTS[@]}"; do redis-cli -p "$p" flushall >/dev/null; done
  "$BIN" bench --server "http://127.0.0.1:$PORT" --api-key "$ADMIN" --scenario "$1" \
    --streams "$2" --connections "$3" --duration "$SECONDS_RUN" --warmup 2 --tokens 400000 \
    --merchant "$MERCHANT" > "$WORK/bench.out" 2>&1 &
  local bench=$! peak=0 ticks=0 first="" last=""
  while kill -0 $bench 2>/dev/null; do
    rss=$(ps -o rss= -p $SERVER | tr -d ' '); [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    # CPU use from a second into the measured window to a second before
    # its end (a confirm run issues its tokens first: the window is later).
    if grep -q '^measuring' "$WORK/bench.out" 2>/dev/null; then
      ticks=$((ticks + 1))
      [ "$ticks" -eq 2 ] && first="$(cpu_snapshot $bench)"
      [ "$ticks" -eq $((2 * SECONDS_RUN - 2)) ] && last="$(cpu_snapshot $bench)"
    fi
    sleep 0.5
  done
  wait $bench
  cat "$WORK/bench.out"
  echo "server_peak_rss_kib=$peak"
  if [ -n "$first" ] && [ -n "$last" ]; then
    # CPU µs per call of each process, at the run's rate.
    python3 - "$first" "$last" "$(tail -1 "$WORK/bench.out")" <<'PY'
import json, sys
a, b = (list(map(float, s.split())) for s in sys.argv[1:3])
rps = json.loads(sys.argv[3])["rps"]
wall = b[0] - a[0]
cores = [(y - x) / wall for x, y in zip(a[1:], b[1:])]
us = [c / rps * 1e6 for c in cores]
print("cpu_cores server=%.2f redis=%.2f loadgen=%.2f total=%.2f" % (*cores, sum(cores)))
print("cpu_us_per_call server=%.1f redis=%.1f loadgen=%.1f total=%.1f" % (*us, sum(us)))
PY
  fi
}
if [ -n "${SCENARIOS:-}" ]; then
  for scenario in $SCENARIOS; do run "$scenario" "$STREAMS" "$CONNECTIONS"; done
else
  for scenario in echo issue confirm mixed; do run $scenario "$STREAMS" "$CONNECTIONS"; done
  run echo 1 1
  run issue 1 1
fi
