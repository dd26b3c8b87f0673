#!/usr/bin/env bash
# The end-to-end run `cargo leptos end-to-end --release --split` did, without cargo-leptos: builds the release site
# (scripts/build-site.sh), starts the release server with the variables cargo-leptos gives it and a throwaway data
# folder, waits until it answers, runs `npx playwright test` in end2end/ (Debian's Chromium, playwright.config.ts)
# and stops the server (SIGINT, as cargo-leptos; killed after 10 s). Exits with Playwright's status; a build or
# start-up failure is an error too (cargo-leptos exited 0 then). scripts/e2e-verify.sh checks the printed summary.
#
# Usage: scripts/e2e.sh [--no-build]   (PEERPLAN_E2E_ADDR=127.0.0.1:PORT to serve elsewhere than 127.0.0.1:3000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

log() { printf '\033[1;34m[e2e]\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[1;31m[e2e]\033[0m %s\n' "$*" >&2; exit 1; }

BUILD=1
case "${1:-}" in
  "") ;;
  --no-build) BUILD=0 ;;
  *) fail "usage: scripts/e2e.sh [--no-build] (got '$1')" ;;
esac
ADDR=${PEERPLAN_E2E_ADDR:-127.0.0.1:3000}
[[ "$ADDR" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "PEERPLAN_E2E_ADDR must be 127.0.0.1:PORT (loopback only), got '$ADDR'"
URL="http://$ADDR"

if [ "$BUILD" = 1 ]; then
  BIN=$(bash scripts/build-site.sh | tail -1)
else
  BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/peerplan"
fi
[ -x "$BIN" ] || fail "no server binary at $BIN (build it with scripts/build-site.sh)"
BIN=$(realpath "$BIN")
[ -f target/site/pkg/peerplan.wasm ] || fail "no site in target/site (build it with scripts/build-site.sh)"
if curl -s -o /dev/null "$URL/"; then
  fail "something already answers on $URL: stop it, or set PEERPLAN_E2E_ADDR to a free 127.0.0.1 port"
fi

DATA=$(mktemp -d)
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -INT "$SERVER_PID"
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
  rm -rf "$DATA"
}
trap stop_server EXIT

# What cargo-leptos set for the server it started (no arguments: `peerplan` serves by default).
log "starting $BIN on $URL (data in $DATA)"
LEPTOS_OUTPUT_NAME=peerplan LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR="$ADDR" \
  LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=app LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false \
  PEERPLAN_DATA="$DATA" "$BIN" &
SERVER_PID=$!
for _ in $(seq 600); do
  curl -s -o /dev/null "$URL/" && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before answering on $URL"
  sleep 0.1
done
curl -s -o /dev/null "$URL/" || fail "the server did not answer on $URL within 60 s"

log "npx playwright test (end2end/)"
status=0
# PEERPLAN_BIN: team.spec.ts and oidc.spec.ts start their own `peerplan serve` (--auth; --oidc-issuer with the loopback
# OpenID provider, scripts/oidc-provider.mjs) on other loopback ports.
(cd end2end && PEERPLAN_URL="$URL" PEERPLAN_BIN="$BIN" npx playwright test) || status=$?
stop_server
exit "$status"
