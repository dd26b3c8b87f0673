# Sourced by the run, build and test scripts: the PATH scripts/build-site.sh needs — the tools scripts/install.sh puts
# under tools/ (npm's wasm-opt must come before Debian's /usr/bin/wasm-opt, which corrupts release builds).
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/tools/binaryen/node_modules/.bin:$ROOT/tools/minify/node_modules/.bin:$ROOT/tools/cargo/bin:$HOME/.cargo/bin:$PATH"
