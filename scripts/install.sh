#!/usr/bin/env bash
# Installs what Peerplan needs, skipping whatever is already present at the right version.
#   scripts/install.sh run    what building and running needs (the wasm target, wasm-bindgen, the WASM splitter,
#                             wasm-opt, terser and lightningcss: the tools scripts/build-site.sh runs)
#   scripts/install.sh [test] that, plus what the tests need (Chromium, curl/jq, PostgreSQL, schemathesis, Playwright,
#                             the loopback OpenID provider)
# Safe to run again and again. Everything comes from the package registries (crates.io, npm, Debian).
# No cargo-leptos: compiling it took 17–23 min of a first run here; scripts/build-site.sh does what
# `cargo leptos build --release --split` did with the tools below.
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

# 2. wasm-bindgen-cli at exactly the version in Cargo.lock (not --locked: its lockfile pins a yanked crate). The longest
#    install step: 4.1 min on an idle 2-core machine (README, First run).
WB=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB\$"; then
  log "installing wasm-bindgen-cli $WB"
  cargo install wasm-bindgen-cli --version "$WB" --force
fi

# 3. wasm-opt from npm's binaryen (Debian's binaryen 108 corrupts release builds: never put it first on PATH).
if ! "$ROOT/tools/binaryen/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q 'version 132'; then
  log "installing wasm-opt (npm binaryen@132.0.0) into tools/binaryen"
  npm install --prefix "$ROOT/tools/binaryen" --no-audit --no-fund --silent binaryen@132.0.0
fi

# 4. The WASM splitter (`--split`): scripts/wasm-split, built from crates.io into tools/cargo (rebuilt when its
#    sources change; its build folder is removed afterwards). 1.1 min on 2 idle cores.
SPLIT_SUM=$(cat scripts/wasm-split/Cargo.toml scripts/wasm-split/Cargo.lock scripts/wasm-split/src/main.rs | sha256sum | cut -d' ' -f1)
if [ ! -x "$ROOT/tools/cargo/bin/peerplan-wasm-split" ] || [ "$(cat "$ROOT/tools/cargo/.wasm-split.sum" 2>/dev/null)" != "$SPLIT_SUM" ]; then
  log "building the WASM splitter (scripts/wasm-split) into tools/cargo"
  SPLIT_TARGET=$(mktemp -d)
  cargo install --path scripts/wasm-split --locked --force --root "$ROOT/tools/cargo" --target-dir "$SPLIT_TARGET"
  rm -rf "$SPLIT_TARGET"
  echo "$SPLIT_SUM" > "$ROOT/tools/cargo/.wasm-split.sum"
fi

# 5. The JS and CSS minifiers cargo-leptos had built in (swc, lightningcss): npm terser and lightningcss-cli
#    (1.32.0 is the lightningcss cargo-leptos 0.3.10 locks), pinned, into tools/minify. Seconds, like binaryen.
if ! "$ROOT/tools/minify/node_modules/.bin/terser" --version 2>/dev/null | grep -qx 'terser 5.51.4' ||
  ! "$ROOT/tools/minify/node_modules/.bin/lightningcss" --version 2>/dev/null | grep -qx 'lightningcss 1\.0\.0-alpha\.71'; then
  log "installing terser@5.51.4 and lightningcss-cli@1.32.0 into tools/minify"
  npm install --prefix "$ROOT/tools/minify" --no-audit --no-fund --silent terser@5.51.4 lightningcss-cli@1.32.0
fi

if [ "$FOR" = run ]; then
  exit 0
fi

# 6. Debian's Chromium for Playwright (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian chromium"
  apt_install chromium
fi

# 7. curl and jq, used by the generated apply scripts (and their test).
for tool in curl jq; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "installing Debian $tool"
    apt_install "$tool"
  fi
done

# 8. PostgreSQL server binaries, for the control plane's tests on PostgreSQL.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing Debian postgresql"
  apt_install postgresql
fi

# 9. schemathesis from PyPI (pinned), in a virtualenv under tools/, for the API fuzzing step.
if ! "$ROOT/tools/venv/bin/schemathesis" --version 2>/dev/null | grep -q '4\.32\.5'; then
  log "installing schemathesis 4.32.5 into tools/venv"
  python3 -m venv "$ROOT/tools/venv"
  "$ROOT/tools/venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

# 10. Playwright, from end2end/package-lock.json (re-installed when the lock file changes).
LOCK_SUM=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
if [ ! -f end2end/node_modules/.peerplan-lock ] || [ "$(cat end2end/node_modules/.peerplan-lock)" != "$LOCK_SUM" ]; then
  log "npm ci in end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  echo "$LOCK_SUM" > end2end/node_modules/.peerplan-lock
fi

# 11. The loopback OpenID provider of the single sign-on tests (scripts/oidc-provider.mjs): npm oidc-provider, pinned,
#     into tools/oidc. Seconds.
if [ "$(node -p "require('$ROOT/tools/oidc/node_modules/oidc-provider/package.json').version" 2>/dev/null)" != 9.13.3 ]; then
  log "installing oidc-provider@9.13.3 into tools/oidc"
  npm install --prefix "$ROOT/tools/oidc" --no-audit --no-fund --silent --save-exact oidc-provider@9.13.3
fi
