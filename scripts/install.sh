#!/usr/bin/env bash
# Installs what Peerplan needs, skipping whatever is already present at the right version.
#   scripts/install.sh run    what building and running needs (the wasm target, cargo-leptos, wasm-bindgen, wasm-opt)
#   scripts/install.sh [test] that, plus what the tests need (Chromium, curl/jq, PostgreSQL, schemathesis, Playwright)
# Safe to run again and again. Everything comes from the package registries (crates.io, npm, Debian):
# cargo-leptos would otherwise download wasm-bindgen / wasm-opt from elsewhere, which fails on closed machines.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FOR=${1:-test}
case "$FOR" in
  run | test) ;;
  *) echo "usage: scripts/install.sh [run|test] (got '$FOR')" >&2; exit 2 ;;
esac

log() { printf '\033[1;34m[install]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. The browser target for the WASM build.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. cargo-leptos, pinned (0.3.11 needs a newer rustc).
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  log "installing cargo-leptos 0.3.10 (the longest step of a first run, ~17–23 min on 2 cores, once)"
  cargo install cargo-leptos --version 0.3.10 --locked
fi

# 3. wasm-bindgen-cli at exactly the version in Cargo.lock (not --locked: its lockfile pins a yanked crate).
WB=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB\$"; then
  log "installing wasm-bindgen-cli $WB"
  cargo install wasm-bindgen-cli --version "$WB" --force
fi

# 4. wasm-opt from npm's binaryen (Debian's binaryen 108 corrupts release builds: never put it first on PATH).
if ! "$ROOT/tools/binaryen/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q 'version 132'; then
  log "installing wasm-opt (npm binaryen@132.0.0) into tools/binaryen"
  npm install --prefix "$ROOT/tools/binaryen" --no-audit --no-fund --silent binaryen@132.0.0
fi

if [ "$FOR" = run ]; then
  exit 0
fi

# 5. Debian's Chromium for Playwright (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium"
  apt_install chromium
fi

# 6. curl and jq, used by the generated apply scripts (and their test).
for tool in curl jq; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "installing Debian $tool"
    apt_install "$tool"
  fi
done

# 7. PostgreSQL server binaries, for the control plane's tests on PostgreSQL.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing Debian postgresql"
  apt_install postgresql
fi

# 8. schemathesis from PyPI (pinned), in a virtualenv under tools/, for the API fuzzing step.
if ! "$ROOT/tools/venv/bin/schemathesis" --version 2>/dev/null | grep -q '4\.32\.5'; then
  log "installing schemathesis 4.32.5 into tools/venv"
  python3 -m venv "$ROOT/tools/venv"
  "$ROOT/tools/venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

# 9. Playwright, from end2end/package-lock.json (re-installed when the lock file changes).
LOCK_SUM=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
if [ ! -f end2end/node_modules/.peerplan-lock ] || [ "$(cat end2end/node_modules/.peerplan-lock)" != "$LOCK_SUM" ]; then
  log "npm ci in end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  echo "$LOCK_SUM" > end2end/node_modules/.peerplan-lock
fi
