#!/usr/bin/env bash
# Installs what is missing, builds Peerplan in release mode and serves it on http://127.0.0.1:3000.
# Extra arguments go to `peerplan serve` (e.g. --addr 127.0.0.1:8080 --data ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh run
# What `cargo leptos build --release --split` did, without compiling cargo-leptos; prints the server's path last.
BIN=$(bash scripts/build-site.sh | tail -1)
exec "$BIN" serve "$@"
