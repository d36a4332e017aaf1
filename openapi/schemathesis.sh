#!/usr/bin/env bash
# Checks the HTTP/JSON API against its OpenAPI document with schemathesis:
# starts a built cartclick on the memory store with keys made for this run,
# seeds a merchant, an approved campaign paying commission with no holding
# period, a real token and a confirmed order (so a payable commission), a
# self-referral's confirmed order (so a held commission for the admin pass),
# then lets schemathesis generate requests from the document the server
# serves (GET /openapi.yaml) and check every answer against it. Builds
# nothing: CARTCLICK_BIN (default ${CARGO_TARGET_DIR:-target}/debug/cartclick)
# must exist. Installs schemathesis (pinned) into a venv under the CI cache.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS=schemathesis==4.32.5
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-1000}" # per operation and phase
SEED="${SCHEMATHESIS_SEED:-20261124}"
BIN="${CARTCLICK_BIN:-${CARGO_TARGET_DIR:-target}/debug/cartclick}"
if [ ! -x "$BIN" ]; then
  printf 'no cartclick binary at %s: build it first (cargo build), or set CARTCLICK_BIN\n' "$BIN" >&2
  exit 1
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

VENV="${XDG_CACHE_HOME:-$HOME/.cache}/cartclick-ci/schemathesis-venv-${SCHEMATHESIS##*==}"
if [ ! -x "$VENV/bin/st" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  if ! log="$("$VENV/bin/pip" install --disable-pip-version-check -q "$SCHEMATHESIS" 2>&1)"; then
    printf '%s\nFAILED: pip install %s\n' "$log" "$SCHEMATHESIS" >&2
    rm -rf "$VENV"
    exit 1
  fi
fi

WORK="$(mktemp -d)"
SERVER_PID=
cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$WORK/server.log" ]; then
    printf '\n--- the last lines cartclick logged ---\n' >&2
    tail -n 40 "$WORK/server.log" >&2
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Secrets made now, for this run only: never written outside $WORK.
hexrand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
b64rand() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
MERCHANT_KEY="$(hexrand)"
DASHBOARD_KEY="$(hexrand)"
ADMIN_KEY="$(hexrand)"
cat >"$WORK/cartclick.toml" <<TOML
listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
store = "memory://"
viewer_pepper_base64 = "$(b64rand)"

[[signing_keys]]
kid = "ci"
secret_base64 = "$(b64rand)"
active = true

[[api_keys]]
id = "ci-shop"
role = "merchant"
merchant_id = "m-1"
sha256 = "$(sha "$MERCHANT_KEY")"

[[api_keys]]
id = "ci-dashboard"
role = "dashboard"
sha256 = "$(sha "$DASHBOARD_KEY")"

[[api_keys]]
id = "ci-admin"
role = "admin"
sha256 = "$(sha "$ADMIN_KEY")"

# The seeded sale comes at once after its tap: not SALE_TOO_FAST here, so
# its commission is payable; a self-referral seeds a held one.
[fraud]
min_click_to_sale_seconds = 0
TOML

"$BIN" --log-format json serve --config "$WORK/cartclick.toml" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# The bound addresses, from the "serving" line; bounded wait, no fixed sleep.
serving() {
  python3 - "$WORK/server.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("message") == "serving" and entry.get("http_addr"):
        print(entry["addr"], entry["http_addr"])
        break
PY
}
ADDRS=
deadline=$((SECONDS + 30))
while [ -z "$ADDRS" ]; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    printf 'cartclick exited before serving\n' >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    printf 'cartclick did not log "serving" within 30 s\n' >&2
    exit 1
  fi
  ADDRS="$(serving)"
  [ -n "$ADDRS" ] || sleep 0.1
done
read -r GRPC_ADDR HTTP_ADDR <<<"$ADDRS"
printf 'cartclick %s: gRPC on %s, HTTP/JSON on %s\n' "$("$BIN" --version)" "$GRPC_ADDR" "$HTTP_ADDR"

# Seed what the document's examples name (m-1, c-1, sku-1, vid-1, cr-1), a
# real token for that merchant, and a confirmed order to refund whose
# commission (10 %, no holding period) is payable at once, so the earnings
# routes read real balances and a payout has something to pay.
export CARTCLICK_SERVER="http://$GRPC_ADDR"
cli() { "$BIN" "$@" >>"$WORK/cli.log" 2>&1 || {
  cat "$WORK/cli.log" >&2
  printf 'FAILED: cartclick %s\n' "$1 $2" >&2
  exit 1
}; }
export CARTCLICK_API_KEY="$ADMIN_KEY"
cli admin merchant put --id m-1 --name "CI shop" --domain shop.example
cli admin campaign put --id c-1 --merchant m-1 --category apparel --product sku-1 \
  --commission-rate-bps 1000 --holding-days 0
cli admin campaign review --id c-1 --decision approve --reason "schemathesis run"
TOKEN="$("$BIN" issue --campaign c-1 --product sku-1 --video vid-1 \
  --creator cr-1 --viewer viewer-1 --landing-url https://shop.example/p/sku-1 |
  awk '$1 == "token" { print $2 }')"
if [ -z "$TOKEN" ]; then
  printf 'FAILED: cartclick issue printed no token\n' >&2
  exit 1
fi
CARTCLICK_API_KEY="$MERCHANT_KEY" cli confirm --token "$TOKEN" --order order-1001 \
  --amount-minor 12900 --currency DKK
# The creator tapping its own cart: SELF_REFERRAL holds order-1002's
# commission, for the admin's reviews.
OWN_TOKEN="$("$BIN" issue --campaign c-1 --product sku-1 --video vid-1 \
  --creator cr-1 --viewer cr-1 --landing-url https://shop.example/p/sku-1 |
  awk '$1 == "token" { print $2 }')"
if [ -z "$OWN_TOKEN" ]; then
  printf 'FAILED: cartclick issue printed no token\n' >&2
  exit 1
fi
CARTCLICK_API_KEY="$MERCHANT_KEY" cli confirm --token "$OWN_TOKEN" --order order-1002 \
  --amount-minor 5000 --currency DKK
unset CARTCLICK_API_KEY

# Schema-valid requests still meet rules no schema states (a token must be
# signed for this merchant, a range at most 744 buckets, a currency one the
# server knows, a page token issued for the request, something payable):
# 400 is a valid answer to them too. The real token and order are drawn for
# most sales, a known currency, range and day for most reads, and the seeded
# creator for most earnings calls, so many requests get past those rules to
# confirm, replay, conflict, refund, count, pay or list.
cat >"$WORK/schemathesis.toml" <<TOML
[auth.openapi.bearerAuth]
bearer = "\${CARTCLICK_SCHEMATHESIS_KEY}"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

# validation_mismatch ("mostly rejected generated data") is those same
# unstated rules, so it is not shown; the warnings that mean a broken run
# (every call unauthenticated, an unusable pattern or reference, a
# dictionary that fits no parameter) fail it.
[warnings]
display = ["missing_auth", "missing_test_data", "base_url_mismatch", "missing_deserializer",
  "unused_openapi_auth", "unsupported_regex", "method_not_allowed", "unmatched_filter",
  "unresolvable_reference", "rate_limited", "dictionary_mismatch", "timeout_units"]
fail-on = ["missing_auth", "base_url_mismatch", "missing_deserializer", "unused_openapi_auth",
  "unsupported_regex", "unresolvable_reference", "dictionary_mismatch"]

[dictionaries.tokens]
values = ["$TOKEN"]

[dictionaries.orders]
values = ["order-1001"]

[dictionaries.currencies]
values = ["DKK"]

[dictionaries.starts]
values = ["2026-11-01T00:00:00Z", "2026-11-24T10:00:00+01:00"]

[dictionaries.ends]
values = ["2026-11-08T00:00:00Z", "2026-11-25T00:00:00Z"]

[dictionaries.days]
values = ["2026-11-24"]

[dictionaries.creators]
values = ["cr-1"]

[parameters]
"body.token" = { dictionary = "tokens", probability = 0.7 }
"body.amount.currencyCode" = { dictionary = "currencies", probability = 0.7 }
"query.startTime" = { dictionary = "starts", probability = 0.7 }
"query.endTime" = { dictionary = "ends", probability = 0.7 }
"query.day" = { dictionary = "days", probability = 0.5 }
"query.creatorId" = { dictionary = "creators", probability = 0.7 }
"body.creatorId" = { dictionary = "creators", probability = 0.7 }
"body.currencyCode" = { dictionary = "currencies", probability = 0.7 }

[[operations]]
include-operation-id = "reverseSale"
parameters = { "body.orderId" = { dictionary = "orders", probability = 0.7 } }

[dictionaries.held]
values = ["order-1002"]

[dictionaries.merchants]
values = ["m-1"]

[[operations]]
include-operation-id = "reviewCommission"
parameters = { "body.orderId" = { dictionary = "held", probability = 0.7 }, "body.merchantId" = { dictionary = "merchants", probability = 0.7 } }
TOML

# run_schemathesis KEY LOG [st run options...]: one pass with KEY as the
# bearer. One worker: the memory store answers in microseconds anyway, and
# Python 3.11's ast module is not thread-safe (hypothesis then fails with
# "AST constructor recursion depth mismatch").
run_schemathesis() {
  local key="$1" log="$2"
  shift 2
  CARTCLICK_SCHEMATHESIS_KEY="$key" "$VENV/bin/st" --config-file "$WORK/schemathesis.toml" \
    run "http://$HTTP_ADDR/openapi.yaml" \
    --checks all \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --no-color "$@" | tee "$log"
}
cd "$WORK"
# Every operation a shop may call, as the shop; then the counters and the
# earnings reads as a dashboard, which may read every dimension and every
# merchant's earnings (fewer examples: the same schemas, another role; it
# may not pay) and the merchant and campaign listings; then the review of
# held commissions and the key listing, which only an admin may call (the
# shop may call neither, nor list every merchant: each would only ever
# answer 403). The Server-Sent Events stream (watchCounters) is left out of
# every pass: a stream that was admitted never ends by itself, so each
# valid example would only run into the request timeout; the black-box
# tests (tests/api/http_json/watch_sse.rs) and the fuzz test hold it.
run_schemathesis "$MERCHANT_KEY" "$WORK/merchant.log" --max-examples "$MAX_EXAMPLES" \
  --exclude-operation-id reviewCommission --exclude-operation-id listMerchants \
  --exclude-operation-id listApiKeys --exclude-operation-id watchCounters
run_schemathesis "$DASHBOARD_KEY" "$WORK/dashboard.log" --max-examples "$((MAX_EXAMPLES / 5 + 1))" \
  --include-tag-regex '^(counters|earnings|registry)$' --exclude-method POST \
  --exclude-operation-id listApiKeys \
  --phases examples,coverage,fuzzing
run_schemathesis "$ADMIN_KEY" "$WORK/admin.log" --max-examples "$((MAX_EXAMPLES / 5 + 1))" \
  --include-operation-id reviewCommission --include-operation-id listApiKeys \
  --phases examples,coverage,fuzzing
# A plain closing line for CI: the test cases of every pass, all passed.
sed -n 's/^ *[0-9]* generated, \([0-9]*\) passed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \3/p' \
  "$WORK/merchant.log" "$WORK/dashboard.log" "$WORK/admin.log" |
  awk '{ passed += $1; skipped += $2 } END { printf "schemathesis: %d passed, 0 failed, %d skipped\n", passed, skipped }'
