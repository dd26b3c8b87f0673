#!/usr/bin/env bash
# Installs what is missing, then runs every check and test: fmt, clippy (native and wasm), every crate's tests,
# and the Playwright suite in Debian's Chromium against the release build (scripts/e2e.sh). Exits non-zero on any
# failure.
#
# A target folder outside the clone is reused when present (PEERPLAN_TARGET_DIR, default ~/.cache/peerplan/target);
# the script passes from nothing too, only slower.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/env.sh
export CARGO_TARGET_DIR="${PEERPLAN_TARGET_DIR:-$HOME/.cache/peerplan/target}"
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_TERM_COLOR=never
# A test run builds each workspace crate once or twice: incremental caches would only fill the disk (tens of GB
# over a few runs with the several feature sets the workspace builds).
export CARGO_INCREMENTAL=0
LOG=$(mktemp -d)
PEERPLAN_PG_DIR=""
cleanup() {
  rm -rf "$LOG"
  if [ -n "$PEERPLAN_PG_DIR" ]; then bash scripts/postgres.sh stop "$PEERPLAN_PG_DIR"; fi
}
trap cleanup EXIT

step() { printf '\n\033[1;34m== %s ==\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, all targets)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo clippy (wasm, hydrate)"
cargo clippy -p app --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings

step "cargo test --workspace (control plane on SQLite and on a throwaway PostgreSQL)"
if [ -z "${PEERPLAN_TEST_POSTGRES_URL:-}" ]; then
  eval "$(bash scripts/postgres.sh)"
fi
export PEERPLAN_REQUIRE_POSTGRES=1
# The single sign-on tests start the loopback OpenID provider install.sh put in tools/oidc: missing is a failure.
export PEERPLAN_REQUIRE_OIDC=1
cargo test --workspace 2>&1 | tee "$LOG/cargo-test.txt"

step "schemathesis against /v1/openapi.json (bounded, loopback)"
cargo build -p server --bin peerplan
bash scripts/schemathesis.sh "$CARGO_TARGET_DIR/debug/peerplan" 2>&1 | tee "$LOG/schemathesis.txt"
grep -qE '[0-9]+ generated, [0-9]+ passed' "$LOG/schemathesis.txt"

step "end-to-end: release site (scripts/build-site.sh), Playwright in Debian's Chromium (scripts/e2e.sh)"
bash scripts/e2e.sh 2>&1 | tee "$LOG/e2e.txt"
# Its exit status covers the build, the server and Playwright; check the run and its count as well.
bash scripts/e2e-verify.sh "$LOG/e2e.txt"

# The runners' own summary lines, then one total.
passed=$(grep -oE 'test result: ok\. [0-9]+ passed' "$LOG/cargo-test.txt" | awk '{s+=$4} END {print s+0}')
e2e_passed=$(grep -oE '^ *[0-9]+ passed' "$LOG/e2e.txt" | awk '{s+=$1} END {print s+0}')
step "summary"
st_cases=$(grep -oE '[0-9]+ generated, [0-9]+ passed' "$LOG/schemathesis.txt" | head -1)
echo "cargo test: $passed passed; schemathesis: $st_cases; playwright: $e2e_passed passed"
echo "$((passed + e2e_passed)) passed, 0 failed"
