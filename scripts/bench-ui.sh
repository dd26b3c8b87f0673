#!/usr/bin/env bash
# UI size and speed, measured (a benchmark, not a test): the release WASM's size (raw and gzip -9; the initial
# module and the lazily loaded chunks), then in
# Debian's Chromium against a release `peerplan serve` on loopback: a generated 1,000-VPC plan's render time
# and frame times while panning, and the in-browser time of a 1,000 × 1,000 endpoint matrix.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/env.sh
export CARGO_TARGET_DIR="${PEERPLAN_TARGET_DIR:-$HOME/.cache/peerplan/target}"
cargo leptos build --release --split
# The initial WASM (what every page loads first) and the lazily loaded chunks (the planner's routes).
for f in target/site/pkg/*.wasm; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  echo "wasm: $(basename "$f"): $raw bytes raw, $gz bytes gzip -9 ($((gz / 1024)) KiB)"
done
echo "(peerplan.wasm is the initial module, budget 400 KiB gzip; the others load with the planner's routes)"

WORK=$(mktemp -d)
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
BIN="$CARGO_TARGET_DIR/release/peerplan"
"$BIN" generate --vpcs 1000 --subnets-per-vpc 2 --endpoints-per-subnet 1 --seed 7 -o "$WORK/big.json"
"$BIN" generate --vpcs 100 --subnets-per-vpc 5 --endpoints-per-subnet 2 --seed 7 -o "$WORK/matrix.json"
"$BIN" serve --addr 127.0.0.1:3077 --data "$WORK/data" --site-root target/site --no-demo >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:3077/healthz >/dev/null && break; sleep 0.1; done
(cd end2end && PEERPLAN_URL=http://127.0.0.1:3077 PEERPLAN_BIG_PLAN="$WORK/big.json" \
  PEERPLAN_MATRIX_PLAN="$WORK/matrix.json" PEERPLAN_BENCH_OUT="$WORK/ui.json" \
  npx playwright test --config bench/bench.config.ts)
echo "results:"; cat "$WORK/ui.json"; echo
