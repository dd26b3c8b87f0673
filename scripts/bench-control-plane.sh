#!/usr/bin/env bash
# Load benchmark of `peerplan control-plane serve` on loopback, on SQLite and on a throwaway PostgreSQL.
# Bounded: each phase runs at most SECONDS (default 5) with CONCURRENCY (default 16) clients.
set -euo pipefail
cd "$(dirname "$0")/.."
CONCURRENCY=${1:-16}
SECONDS_PER_PHASE=${2:-5}
cargo build --release -p server --bin peerplan
cargo build --release -p controlplane --example load
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
run() {
  local label=$1 url=${2:-}
  local data; data=$(mktemp -d)
  local args=(--data "$data"); [ -n "$url" ] && args+=(--database-url "$url")
  local key; key=$("$BIN/peerplan" control-plane account create bench --format json "${args[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  "$BIN/peerplan" control-plane serve --addr 127.0.0.1:7099 --rate-limit 1000000 "${args[@]}" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:7099/healthz >/dev/null && break; sleep 0.1; done
  echo "== $label (concurrency $CONCURRENCY, ≤ ${SECONDS_PER_PHASE}s per phase)"
  "$BIN/examples/load" http://127.0.0.1:7099 "$key" "$CONCURRENCY" "$SECONDS_PER_PHASE" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
run SQLite
eval "$(bash scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop "$PEERPLAN_PG_DIR"' EXIT
run PostgreSQL "$PEERPLAN_TEST_POSTGRES_URL"
