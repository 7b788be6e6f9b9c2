#!/usr/bin/env bash
# The test command (npm test): makes sure dependencies and the local stack are
# there, runs every test once, and stops the stack again if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/kafkajs ]; then
  echo "[test] installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi

# tests/dashboard.browser.test.ts drives Debian's Chromium (it skips without it); a CJK
# font makes the page's Chinese labels render. Installed only when missing, as root.
ensure_chromium() {
  if [ -x /usr/bin/chromium ] && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then return 0; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "[test] Chromium or its CJK font is missing and this shell cannot apt-get install as root; the dashboard browser test may skip. Install: apt-get install chromium fonts-liberation fonts-wqy-microhei" >&2
    return 0
  fi
  echo "[test] installing Debian's chromium and fonts for the dashboard browser test…"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-wqy-microhei >/dev/null; }; then
    echo "[test] installing chromium failed; the dashboard browser test will skip" >&2
  fi
}
ensure_chromium

# tests/monitoring.test.ts checks the alert rules with Prometheus's own promtool (it skips
# without it); Debian's prometheus package carries it. Installed only when missing, as root.
ensure_promtool() {
  if command -v promtool >/dev/null; then return 0; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "[test] promtool is missing and this shell cannot apt-get install as root; the alert rules check will skip. Install: apt-get install prometheus" >&2
    return 0
  fi
  echo "[test] installing Debian's prometheus package for promtool…"
  local install='DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null'
  if ! { eval "$install" 2>/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get update -qq && eval "$install"; }; }; then
    echo "[test] installing prometheus failed; the alert rules check will skip" >&2
  fi
}
ensure_promtool

started_stack=0
if ! bash infra/stack.sh status >/dev/null 2>&1; then
  started_stack=1
fi
bash infra/stack.sh up
# shellcheck disable=SC1091
set -a; source "${LT_DATA_DIR:-.data}/stack.env"; set +a

cleanup() {
  if [ "$started_stack" = 1 ] && [ "${LT_KEEP_STACK:-0}" != 1 ]; then bash infra/stack.sh down || true; fi
}
trap cleanup EXIT

npx tsc --noEmit -p tsconfig.json
# The dashboard's browser code is its own program (DOM types, no Node types).
npx tsc --noEmit -p services/gateway/src/dashboard/browser/tsconfig.json
echo "[test] type check passed"
npx eslint .
echo "[test] lint passed"
npx prettier --check . >/dev/null || { npx prettier --check . ; echo "[test] formatting differs from Prettier: run npm run format" >&2; exit 1; }
echo "[test] formatting checked"
npx vitest run "$@"
