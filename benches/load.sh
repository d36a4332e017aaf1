#!/usr/bin/env bash
# Runs `cartclick bench` scenarios against a release server on a fresh
# loopback Redis, as recorded in BENCHMARKS.md. Everything it starts, it
# stops. Usage: bash benches/load.sh [seconds] [streams] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN="${1:-10}"; STREAMS="${2:-64}"; CONNECTIONS="${3:-4}"
cargo build --release --quiet
BIN=target/release/cartclick
WORK="$(mktemp -d)"; REDIS_PORT=16479; PORT=16480
cleanup() { kill "${SERVER:-0}" 2>/dev/null || true; redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --logfile "$WORK/redis.log" --dir "$WORK"
ADMIN="bench-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > "$WORK/cartclick.toml" <<TOML
viewer_pepper_base64 = "$(head -c 32 /dev/urandom | base64)"
[[signing_keys]]
kid = "k1"
secret_base64 = "$(head -c 32 /dev/urandom | base64)"
active = true
[[api_keys]]
id = "admin"
role = "admin"
sha256 = "$(printf %s "$ADMIN" | sha256sum | cut -d' ' -f1)"
TOML
RUST_LOG=warn "$BIN" serve --config "$WORK/cartclick.toml" --store "redis://127.0.0.1:$REDIS_PORT/0" --listen "127.0.0.1:$PORT" &
SERVER=$!
sleep 1
run() { # scenario streams connections
  redis-cli -p $REDIS_PORT flushall >/dev/null
  "$BIN" bench --server "http://127.0.0.1:$PORT" --api-key "$ADMIN" --scenario "$1" \
    --streams "$2" --connections "$3" --duration "$SECONDS_RUN" --warmup 2 --tokens 400000 &
  local bench=$! peak=0
  while kill -0 $bench 2>/dev/null; do
    rss=$(ps -o rss= -p $SERVER | tr -d ' '); [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    sleep 0.5
  done
  wait $bench
  echo "server_peak_rss_kib=$peak"
}
for scenario in echo issue confirm mixed; do run $scenario "$STREAMS" "$CONNECTIONS"; done
run echo 1 1
run issue 1 1
