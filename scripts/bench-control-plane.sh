#!/usr/bin/env bash
# Load benchmark of `peerplan control-plane serve` on loopback, on SQLite and on a throwaway PostgreSQL.
#
#   scripts/bench-control-plane.sh [CONCURRENCY] [SECONDS] [--one-client]
#
# Per database, on a fresh server: first one Python client (scripts/bench-control-plane.py: one keep-alive
# connection doing the 8 calls of a peering set-up per pair, server time per call from the Server-Timing header,
# calls/s against the same client's floor on /healthz), without and then with an Idempotency-Key on every POST;
# then the concurrent load generator (controlplane/examples/load.rs). Bounded: each phase runs at most SECONDS
# (default 5; the one-client runs 6 s each) with CONCURRENCY (default 16) clients. `--one-client` skips the
# concurrent load and PostgreSQL (the quick check of issue 15's one-client targets, on SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
ONE_CLIENT=0
ARGS=()
for a in "$@"; do
  if [ "$a" = --one-client ]; then ONE_CLIENT=1; else ARGS+=("$a"); fi
done
CONCURRENCY=${ARGS[0]:-16}
SECONDS_PER_PHASE=${ARGS[1]:-5}
cargo build --release -p server --bin peerplan
[ "$ONE_CLIENT" = 1 ] || cargo build --release -p controlplane --example load
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
run() {
  local label=$1 url=${2:-}
  local data; data=$(mktemp -d)
  local args=(--data "$data"); [ -n "$url" ] && args+=(--database-url "$url")
  local key; key=$("$BIN/peerplan" control-plane account create bench --format json "${args[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  "$BIN/peerplan" control-plane serve --addr 127.0.0.1:7099 --rate-limit 1000000 "${args[@]}" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:7099/healthz >/dev/null && break; sleep 0.1; done
  echo "== $label: one Python client"
  python3 scripts/bench-control-plane.py http://127.0.0.1:7099 "$key" --seconds 6 || true
  python3 scripts/bench-control-plane.py http://127.0.0.1:7099 "$key" --seconds 6 --first-pair 20000 --idempotency || true
  if [ "$ONE_CLIENT" = 0 ]; then
    echo "== $label (concurrency $CONCURRENCY, ≤ ${SECONDS_PER_PHASE}s per phase)"
    "$BIN/examples/load" http://127.0.0.1:7099 "$key" "$CONCURRENCY" "$SECONDS_PER_PHASE" || true
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
run SQLite
[ "$ONE_CLIENT" = 1 ] && exit 0
eval "$(bash scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop "$PEERPLAN_PG_DIR"' EXIT
run PostgreSQL "$PEERPLAN_TEST_POSTGRES_URL"
