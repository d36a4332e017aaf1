#!/usr/bin/env bash
# The server's instructions per call (IssueToken by default), under
# callgrind (counts that other load on the box does not move), as recorded
# in BENCHMARKS.md.
# Starts its own loopback redis-server and a release server under
# valgrind; load at 4 streams over 1 connection, the counts zeroed when the
# load generator starts measuring (after 2 s of warm-up) and dumped after
# its 15 s; per_call is the total (all threads) over the calls the server
# served in that time (counted in the profile).
# Usage: [SCENARIO=issue|confirm|echo] [BIN=path] bash benches/callgrind.sh [out-dir]
# BIN runs a binary built elsewhere (another commit's, to compare two builds
# on the same box minutes apart) instead of building this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-$(mktemp -d)}"; mkdir -p "$OUT"
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/cartclick
fi
WORK="$(mktemp -d)"; REDIS_PORT=16489; PORT=16490
cleanup() {
  kill "${VPID:-0}" 2>/dev/null || true
  redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --logfile "$WORK/redis.log" --dir "$WORK"
until redis-cli -p $REDIS_PORT ping >/dev/null 2>&1; do sleep 0.1; done
source benches/config.sh
bench_config "$WORK/cartclick.toml"
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
  "$BIN" serve --config "$WORK/cartclick.toml" --store "redis://127.0.0.1:$REDIS_PORT/0" \
  --listen "127.0.0.1:$PORT" --http-listen off >"$WORK/server.log" 2>&1 &
VPID=$!
# RUST_LOG=warn as in load.sh, so no "serving" line: wait for the port.
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.2; done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
SCENARIO="${SCENARIO:-issue}"
"$BIN" bench --server "http://127.0.0.1:$PORT" --api-key "$ADMIN" --scenario "$SCENARIO" \
  --streams 4 --connections 1 --warmup 2 --duration 15 --tokens 20000 >"$WORK/bench.out" 2>&1 &
BENCH=$!
until grep -q '^measuring' "$WORK/bench.out"; do
  kill -0 $BENCH 2>/dev/null || { cat "$WORK/bench.out" >&2; exit 1; }
  sleep 0.1
done
callgrind_control -z $VPID >/dev/null 2>&1
wait $BENCH
SUMMARY="$(tail -1 "$WORK/bench.out")"
callgrind_control -d $VPID >/dev/null 2>&1
kill -INT $VPID; wait $VPID || true
REQUESTS="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["requests"])' "$SUMMARY")"
IR="$(callgrind_annotate "$OUT/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
# The calls the server served while counted, from the profile: its calls
# into the RPC layer. The load generator's count (calls=) also holds the
# calls made before the zeroing took hold, which lands up to a second after
# its measuring line, a different share each run.
SERVED="$(python3 - "$OUT/callgrind.out.1" <<'PY'
import re, sys
LAYER = "<cartclick::rpc_layer::RpcService<S> as tower_service::Service<http::request::Request<tonic::body::Body>>>::call"
names, callee, served = {}, "", 0
for line in open(sys.argv[1]):
    named = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
    if named:
        if named.group(3) is not None:
            names[named.group(2)] = named.group(3)
        if named.group(1):
            callee = names.get(named.group(2), "")
    elif line.startswith("calls=") and callee == LAYER:
        served += int(line[6:].split()[0])
print(served)
PY
)"
[ "$SERVED" -gt 0 ] || { echo "no calls into the RPC layer in the profile" >&2; exit 1; }
echo "calls=$REQUESTS served=$SERVED instructions=$IR per_call=$((IR / SERVED)) profile=$OUT/callgrind.out.1"
