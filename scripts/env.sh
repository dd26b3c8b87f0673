# Sourced by the run and test scripts: the PATH cargo-leptos needs (npm's wasm-opt before /usr/bin).
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/tools/binaryen/node_modules/.bin:$HOME/.cargo/bin:$PATH"
