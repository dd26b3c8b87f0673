#!/usr/bin/env bash
# Builds Peerplan for release exactly as `cargo leptos build --release --split` (cargo-leptos 0.3.10) does for this
# workspace's `[[workspace.metadata.leptos]]`, without cargo-leptos (compiling it took 17–23 min of a first run):
#   - the server `peerplan` (`cargo build -p server --bin peerplan --no-default-features --features ssr --release`)
#     into the target folder, and in parallel
#   - the WASM (`-p app --lib --no-default-features --features hydrate --profile wasm-release`) into <target>/front,
#     split into lazily loaded chunks (scripts/wasm-split), bound by wasm-bindgen, each module shrunk by wasm-opt,
#     the JS minified (terser, as cargo-leptos's swc does), style/main.css minified for the browserslist "defaults"
#     (lightningcss, the engine cargo-leptos uses) and public/ copied: the site in target/site, pkg files under pkg/.
# Both builds get the LEPTOS_* variables and RUSTFLAGS cargo-leptos sets, so the binaries are the same (and a target
# folder built by cargo-leptos is reused, not rebuilt). Run scripts/install.sh run first (scripts/run.sh does).
#
# Usage: scripts/build-site.sh   (from anywhere; the site goes to <workspace>/target/site, the server binary to
#        <target>/release/peerplan; prints that path last)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

log() { printf '\033[1;34m[build-site]\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[1;31m[build-site]\033[0m %s\n' "$*" >&2; exit 1; }

# What cargo-leptos reads from [[workspace.metadata.leptos]] (Cargo.toml); kept here in one place.
OUTPUT_NAME=peerplan
SITE_ROOT=target/site
PKG_DIR=pkg
SITE_ADDR=127.0.0.1:3000
RELOAD_PORT=3001
STYLE_FILE=style/main.css
ASSETS_DIR=public
BROWSERS=defaults
LIB_PROFILE=wasm-release
for key in "output-name = \"$OUTPUT_NAME\"" "site-root = \"$SITE_ROOT\"" "site-pkg-dir = \"$PKG_DIR\"" \
  "site-addr = \"$SITE_ADDR\"" "reload-port = $RELOAD_PORT" "style-file = \"$STYLE_FILE\"" \
  "assets-dir = \"$ASSETS_DIR\"" "browserquery = \"$BROWSERS\"" "lib-profile-release = \"$LIB_PROFILE\"" \
  "always-erase-components = true" 'bin-features = ["ssr"]' 'lib-features = ["hydrate"]' 'bin-package = "server"' \
  'bin-exe-name = "peerplan"' 'lib-package = "app"' "bin-default-features = false" "lib-default-features = false"; do
  grep -qxF "$key" Cargo.toml || fail "Cargo.toml's [[workspace.metadata.leptos]] no longer says '$key': update scripts/build-site.sh to match"
done

for tool in wasm-bindgen wasm-opt peerplan-wasm-split terser lightningcss; do
  command -v "$tool" >/dev/null || fail "'$tool' not found on PATH: run scripts/install.sh run first"
done

TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
FRONT_TARGET="$TARGET/front"
PKG="$SITE_ROOT/$PKG_DIR"

# The variables cargo-leptos passes to both cargo builds (leptos reads some when it is compiled).
export LEPTOS_OUTPUT_NAME=$OUTPUT_NAME LEPTOS_SITE_ROOT=$SITE_ROOT LEPTOS_SITE_PKG_DIR=$PKG_DIR \
  LEPTOS_SITE_ADDR=$SITE_ADDR LEPTOS_RELOAD_PORT=$RELOAD_PORT LEPTOS_LIB_DIR=app LEPTOS_BIN_DIR=server \
  LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false
# `always-erase-components` adds `--cfg erase_components` to both; `--split` needs relocations in the WASM. Flags
# already in RUSTFLAGS come first, as with cargo-leptos.
SERVER_RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components"
WASM_RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Clink-args=--emit-relocs --cfg erase_components"

# Like cargo-leptos: empty the site folder, then build server and front at the same time.
mkdir -p "$SITE_ROOT"
find "$SITE_ROOT" -mindepth 1 -delete
mkdir -p "$PKG"

log "cargo build: server (release) and WASM ($LIB_PROFILE) in parallel"
RUSTFLAGS="$WASM_RUSTFLAGS" cargo build --package=app --lib --target-dir="$FRONT_TARGET" \
  --target=wasm32-unknown-unknown --no-default-features --features=hydrate --profile="$LIB_PROFILE" &
FRONT_PID=$!
server_ok=0
RUSTFLAGS="$SERVER_RUSTFLAGS" cargo build --package=server --bin=peerplan --no-default-features --features=ssr \
  --release || server_ok=$?
front_ok=0
wait "$FRONT_PID" || front_ok=$?
[ "$server_ok" = 0 ] || fail "the server build failed (exit $server_ok)"
[ "$front_ok" = 0 ] || fail "the WASM build failed (exit $front_ok)"

WASM_IN="$FRONT_TARGET/wasm32-unknown-unknown/$LIB_PROFILE/app.wasm"
WASM_SPLIT="$FRONT_TARGET/wasm32-unknown-unknown/$LIB_PROFILE/app_split.wasm"
[ -f "$WASM_IN" ] || fail "the WASM build left no $WASM_IN"

log "splitting out lazily loaded WASM chunks"
mapfile -t CHUNKS < <(peerplan-wasm-split "$WASM_IN" "$PKG" "$OUTPUT_NAME" "$WASM_SPLIT")

log "wasm-bindgen"
wasm-bindgen --target=web --keep-lld-exports --no-demangle --out-name="$OUTPUT_NAME" --out-dir="$PKG" "$WASM_SPLIT"
# The name leptos' HydrationScripts asks for (cargo-leptos renames it the same way).
mv "$PKG/${OUTPUT_NAME}_bg.wasm" "$PKG/$OUTPUT_NAME.wasm"

log "wasm-opt -Oz on the main module and ${#CHUNKS[@]} chunks (2 at a time)"
printf '%s\0' "$PKG/$OUTPUT_NAME.wasm" "${CHUNKS[@]}" |
  xargs -0 -P 2 -I{} wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int {} -o {}

log "minifying $OUTPUT_NAME.js (terser, as an ES module) and $STYLE_FILE (lightningcss, browsers: $BROWSERS)"
terser "$PKG/$OUTPUT_NAME.js" --module --compress --mangle -o "$PKG/$OUTPUT_NAME.js.min"
mv "$PKG/$OUTPUT_NAME.js.min" "$PKG/$OUTPUT_NAME.js"
lightningcss --minify --targets "$BROWSERS" "$STYLE_FILE" -o "$PKG/$OUTPUT_NAME.css"

# Assets: public/ mirrored into the site root (it may not hold what the build writes there).
for reserved in "$ASSETS_DIR/index.html" "$ASSETS_DIR/$PKG_DIR"; do
  [ ! -e "$reserved" ] || fail "$reserved is reserved for the build's output: move or rename it"
done
cp -R "$ASSETS_DIR/." "$SITE_ROOT/"

log "site in $SITE_ROOT; server $TARGET/release/peerplan"
echo "$TARGET/release/peerplan"
