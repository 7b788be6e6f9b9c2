#!/usr/bin/env bash
# The start command (npm start): sets up whatever is missing, brings up the local
# stack, then runs two ingest workers, the gateway and the live simulator, and
# prints the dashboard URL. Ctrl-C stops the pipeline (the stack keeps running;
# `npm run stack:down` stops it). LT_DETACH=1 returns right after start-up.
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

launch ingest-1 ingest-1.log env INGEST_HTTP_PORT=9464 node --import tsx services/ingest/src/main.ts
launch ingest-2 ingest-2.log env INGEST_HTTP_PORT=9465 node --import tsx services/ingest/src/main.ts
launch gateway gateway.log env GATEWAY_PORT="$GATEWAY_PORT" node --import tsx services/gateway/src/main.ts

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null || { echo "[start] gateway did not become ready; see .data/logs/gateway.log"; tail -20 .data/logs/gateway.log; exit 1; }
launch simulator simulator.log node --import tsx services/simulator/src/main.ts --mode live --rate "$RATE"

echo
echo "LiveTally is running ($(( $(date +%s) - t0 )) s)."
echo "  Dashboard:    http://127.0.0.1:$GATEWAY_PORT/"
echo "  Live totals:  ws://127.0.0.1:$GATEWAY_PORT/v1/live   (send {\"type\":\"subscribe\",\"channel\":\"totals:all\"})"
echo "  REST:         http://127.0.0.1:$GATEWAY_PORT/v1/totals/all"
echo "  Metrics:      http://127.0.0.1:$GATEWAY_PORT/metrics, http://127.0.0.1:9464/metrics"
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
  echo "  $(date +%T) $(curl -fsS "http://127.0.0.1:$GATEWAY_PORT/v1/totals/all" 2>/dev/null || echo 'gateway not answering')"
done
