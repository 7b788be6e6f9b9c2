#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --only <name>[,<name>]] — see bench/run.ts and docs/benchmarks.md.
# Installs dependencies when missing (a fresh clone), raises the open-file limit (the fan-out scenario holds up to 10k sockets per side),
# brings the local stack up if it is down (and stops it again afterwards, like npm test),
# then runs the TypeScript orchestrator.
set -euo pipefail
cd "$(dirname "$0")/.."

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ ! -d node_modules/kafkajs ]; then
  echo "[bench] installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi

# --from only re-renders an earlier result: no stack needed.
for arg in "$@"; do
  case "$arg" in --from|--from=*|--help|-h) exec node --import tsx bench/run.ts "$@" ;; esac
done

started_stack=0
if ! bash infra/stack.sh status >/dev/null 2>&1; then
  started_stack=1
  echo "[bench] local stack is down; starting it (infra/stack.sh up)"
  bash infra/stack.sh up
fi
# shellcheck disable=SC1091
[ -f .data/stack.env ] && { set -a; source .data/stack.env; set +a; }

cleanup() {
  if [ "$started_stack" = 1 ] && [ "${LT_KEEP_STACK:-0}" != 1 ]; then bash infra/stack.sh down || true; fi
}
trap cleanup EXIT

node --import tsx bench/run.ts "$@"
