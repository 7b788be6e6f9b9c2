# The gateway's token signing secret and the tokens printed at start, shared by
# `npm start` (infra/start.sh sources this file) and docker compose (its one-shot
# gateway-init service runs `compose_gateway_init`). POSIX sh; run from the repo root.

TOKEN_TTL=24h

# Makes the secret once (kid k1, 48 random bytes), readable by its owner only.
ensure_token_secret() { # file
  if [ ! -s "$1" ]; then
    (umask 077 && printf 'k1:%s\n' "$(head -c 48 /dev/urandom | base64 | tr -d '\n')" >"$1.tmp" && mv "$1.tmp" "$1")
    echo "[tokens] made the gateway's token signing secret ($1, mode 0600)"
  fi
  chmod 600 "$1"
}

# A token for every scope on stdout, signed with GATEWAY_TOKEN_SECRETS (npm run token).
mint_token() { # role
  node --import tsx services/gateway/src/cli/token.ts --role "$1" --scopes '*' --ttl "$TOKEN_TTL" --sub "start-$1" 2>/dev/null
}

# docker compose: the secret lives in a volume the gateway (user node) reads; the tokens
# go to this service's log (docker compose logs gateway-init).
compose_gateway_init() { # file
  ensure_token_secret "$1"
  chown node:node "$1"
  GATEWAY_TOKEN_SECRETS=$(cat "$1")
  export GATEWAY_TOKEN_SECRETS
  reader=$(mint_token reader) && engineer=$(mint_token engineer) || { echo "[tokens] minting failed" >&2; return 1; }
  # Prometheus scrapes the gateway's /metrics with an engineer token of its own, kept
  # in the same volume (read-only for prometheus); re-running gateway-init renews it.
  node --import tsx services/gateway/src/cli/token.ts --role engineer --scopes '*' --ttl 365d --sub prometheus \
    2>/dev/null >"$(dirname "$1")/prometheus-token.tmp" || { echo "[tokens] minting the scrape token failed" >&2; return 1; }
  mv "$(dirname "$1")/prometheus-token.tmp" "$(dirname "$1")/prometheus-token"
  chmod 644 "$(dirname "$1")/prometheus-token"
  echo "Access control is on. Tokens (valid $TOKEN_TTL; docker compose run --rm gateway-init prints new ones):"
  echo "  Reader:     $reader"
  echo "  Engineer:   $engineer   (SQL, /metrics)"
  echo "  Dashboard:  http://127.0.0.1:8080/?token=<reader token>"
  echo "  REST:       curl -H \"Authorization: Bearer <reader token>\" http://127.0.0.1:8080/v1/totals/all"
}
