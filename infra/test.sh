#!/usr/bin/env bash
# The test command (npm test): makes sure dependencies and the local stack are
# there, runs every test once, and stops the stack again if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/kafkajs ]; then
  echo "[test] installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi

started_stack=0
if ! bash infra/stack.sh status >/dev/null 2>&1; then
  started_stack=1
fi
bash infra/stack.sh up
# shellcheck disable=SC1091
set -a; source .data/stack.env; set +a

cleanup() {
  if [ "$started_stack" = 1 ] && [ "${LT_KEEP_STACK:-0}" != 1 ]; then bash infra/stack.sh down || true; fi
}
trap cleanup EXIT

npx tsc --noEmit -p tsconfig.json
echo "[test] type check passed"
npx vitest run "$@"
