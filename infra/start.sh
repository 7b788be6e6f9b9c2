#!/usr/bin/env bash
# The start command (npm start): sets up whatever is missing, brings up the local
# stack, then runs two ingest workers, the gateway (access control on, with a signing
# secret made once in .data/gateway-token-secrets) and the live simulator, and prints
# the dashboard URL with a reader token and an engineer token. Ctrl-C stops the
# pipeline (the stack keeps running; `npm run stack:down` stops it). LT_DETACH=1
# returns right after start-up. GATEWAY_AUTH=off npm start runs the gateway open.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)

if [ ! -d node_modules/kafkajs ]; then
  echo "[start] installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi
bash infra/stack.sh up
# shellcheck disable=SC1091
set -a; source .data/stack.env; set +a

mkdir -p .data/logs .data/pids
GATEWAY_PORT=${GATEWAY_PORT:-8080}
RATE=${LT_SIM_RATE:-300}
GATEWAY_AUTH=${GATEWAY_AUTH:-on}

# The gateway's token signing secret: made once, readable by this user only, and given
# to the gateway and the token minting alone (not exported to the other services).
# shellcheck source=infra/gateway-tokens.sh
. infra/gateway-tokens.sh
SECRET_FILE=.data/gateway-token-secrets
if [ -z "${GATEWAY_TOKEN_SECRETS:-}" ]; then
  ensure_token_secret "$SECRET_FILE"
  GATEWAY_TOKEN_SECRETS=$(cat "$SECRET_FILE")
fi

launch() { # name, log file, command…
  local name=$1 log=$2; shift 2
  if [ -f ".data/pids/$name.pid" ] && kill -0 "$(cat ".data/pids/$name.pid")" 2>/dev/null; then
    echo "[start] $name already running (pid $(cat ".data/pids/$name.pid"))"
    return
  fi
  nohup "$@" >>".data/logs/$log" 2>&1 &
  echo $! >".data/pids/$name.pid"
  echo "[start] $name started (pid $!, log .data/logs/$log)"
}

stop_pipeline() {
  for name in simulator gateway ingest-2 ingest-1; do
    local f=".data/pids/$name.pid"
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
  done
  for name in simulator gateway ingest-2 ingest-1; do
    local f=".data/pids/$name.pid"
    [ -f "$f" ] || continue
    for _ in $(seq 1 100); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.2; done
    rm -f "$f"
  done
  echo "[start] pipeline stopped; the stack is still up (npm run stack:down stops it)"
}

if [ "${1:-}" = "stop" ]; then stop_pipeline; exit 0; fi

launch ingest-1 ingest-1.log env INGEST_HTTP_PORT=9464 bash services/ingest/bin/worker.sh
launch ingest-2 ingest-2.log env INGEST_HTTP_PORT=9465 bash services/ingest/bin/worker.sh
GATEWAY_TOKEN_SECRETS="$GATEWAY_TOKEN_SECRETS" launch gateway gateway.log env GATEWAY_PORT="$GATEWAY_PORT" GATEWAY_AUTH="$GATEWAY_AUTH" node --import tsx services/gateway/src/main.ts

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null || { echo "[start] gateway did not become ready; see .data/logs/gateway.log"; tail -20 .data/logs/gateway.log; exit 1; }
launch simulator simulator.log node --import tsx services/simulator/src/main.ts --mode live --rate "$RATE"

BASE="http://127.0.0.1:$GATEWAY_PORT"
READER_HEADER=()
echo
echo "LiveTally is running ($(( $(date +%s) - t0 )) s)."
if [ "$GATEWAY_AUTH" = off ]; then
  echo "  WARNING: GATEWAY_AUTH=off, the gateway is open to anyone who can reach it."
  echo "  Dashboard:    $BASE/"
  echo "  REST:         curl $BASE/v1/totals/all"
  echo "  Metrics:      $BASE/metrics"
  echo "  Live totals:  ws://127.0.0.1:$GATEWAY_PORT/v1/live   (send {\"type\":\"subscribe\",\"channel\":\"totals:all\"})"
else
  READER_TOKEN=$(GATEWAY_TOKEN_SECRETS="$GATEWAY_TOKEN_SECRETS" mint_token reader) &&
    ENGINEER_TOKEN=$(GATEWAY_TOKEN_SECRETS="$GATEWAY_TOKEN_SECRETS" mint_token engineer) ||
    { echo "[start] minting tokens failed: GATEWAY_TOKEN_SECRETS=\$(cat $SECRET_FILE) npm run token -- --role reader --scopes '*'"; exit 1; }
  READER_HEADER=(-H "Authorization: Bearer $READER_TOKEN")
  echo "  Access control is on. Tokens (valid $TOKEN_TTL; npm start again prints new ones):"
  echo "  Reader:       $READER_TOKEN"
  echo "  Engineer:     $ENGINEER_TOKEN   (SQL, /metrics)"
  echo "  Dashboard:    $BASE/?token=$READER_TOKEN"
  echo "  REST:         curl -H \"Authorization: Bearer <reader token>\" $BASE/v1/totals/all"
  echo "  SQL:          curl -H \"Authorization: Bearer <engineer token>\" -H 'content-type: application/json' -d '{\"query\":\"SELECT count() FROM lt_events\"}' $BASE/v1/sql"
  echo "  Metrics:      curl -H \"Authorization: Bearer <engineer token>\" $BASE/metrics"
  echo "  Live totals:  ws://127.0.0.1:$GATEWAY_PORT/v1/live?token=<reader token>   (send {\"type\":\"subscribe\",\"channel\":\"totals:all\"})"
  echo "  More tokens:  GATEWAY_TOKEN_SECRETS=\$(cat $SECRET_FILE) npm run token -- --role admin --ttl 1h"
fi
echo "  Ingest:       http://127.0.0.1:9464/metrics, :9465/metrics (loopback only)"
echo "  Logs:         .data/logs/"
echo "  Simulator:    $RATE events/s (LT_SIM_RATE to change)"
echo

if [ "${LT_DETACH:-0}" = 1 ]; then
  echo "Detached. Stop with: bash infra/start.sh stop && npm run stack:down"
  exit 0
fi
trap 'echo; stop_pipeline; exit 0' INT TERM
echo "Press Ctrl-C to stop. Totals every 5 s:"
while true; do
  sleep 5
  echo "  $(date +%T) $(curl -fsS "${READER_HEADER[@]}" "$BASE/v1/totals/all" 2>/dev/null || echo 'gateway not answering')"
done
