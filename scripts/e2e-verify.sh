#!/usr/bin/env bash
# Checks the log of an end-to-end run (scripts/e2e.sh): Playwright ran, and every test of the suite passed.
# An exit status alone would not show a suite that shrank or ran nothing (`cargo leptos end-to-end`, used before,
# even exited 0 without starting Playwright when the build failed). The expected count is the suite's own list
# (`npx playwright test --list`, with the same config: `forbidOnly` makes a stray `test.only` an error there too).
#
# Usage: bash scripts/e2e-verify.sh LOG   (prints "playwright: N of N passed"; exits 1 otherwise)
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:?usage: e2e-verify.sh LOG}
fail() {
  echo "e2e: $*" >&2
  exit 1
}
[ -f "$log" ] || fail "no log at $log"

listing=$(cd end2end && npx playwright test --list 2>&1) || fail "cannot list the Playwright suite:
$listing"
expected=$(grep -oE '^Total: [0-9]+ tests?' <<<"$listing" | grep -oE '[0-9]+' || true)
[ -n "$expected" ] && [ "$expected" -gt 0 ] || fail "the Playwright suite lists no tests:
$listing"

# Playwright's summary, colour codes removed: "  14 passed (2.1m)", "  1 failed", "  2 did not run", …
summary=$(sed 's/\x1b\[[0-9;]*[mK]//g' "$log" | grep -E '^ *[0-9]+ (passed|failed|flaky|skipped|interrupted|did not run)( |$)' || true)
[ -n "$summary" ] || fail "no Playwright summary in $log: the suite did not run"
passed=$(grep -E '^ *[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' | head -1 || true)
passed=${passed:-0}
if grep -qvE '^ *[0-9]+ passed' <<<"$summary"; then
  fail "Playwright did not pass every test ($passed of $expected passed):
$summary"
fi
[ "$passed" -eq "$expected" ] || fail "Playwright passed $passed tests but the suite has $expected"
echo "playwright: $passed of $expected passed"
