#!/usr/bin/env bash
# Installs what is missing, builds Peerplan in release mode and serves it on http://127.0.0.1:3000.
# Extra arguments go to `peerplan serve` (e.g. --addr 127.0.0.1:8080 --data ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh run
source scripts/env.sh
cargo leptos build --release --split
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/peerplan
exec "$BIN" serve "$@"
