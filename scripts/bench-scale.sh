#!/usr/bin/env bash
# Estate-scale measurements of a release build, side by side in one run (issue: performance at estate scale):
#   1. `peerplan check` on an AWS describe-vpcs file of 80,096 VPCs against a Python script doing the same work
#      (medians of RUNS runs, interleaved; the ratio; both must find the same overlapping pairs) — scripts/bench-check.py;
#   2. the Markdown and HTML documentation exports of `peerplan generate --vpcs 1000 --subnets-per-vpc 2
#      --endpoints-per-subnet 1` (median of RUNS runs each), and of a 10,000-VPC plan (one run each);
#   3. the table of today's figures.
# Usage: scripts/bench-scale.sh [RUNS]   (default 5). PEERPLAN=path/to/peerplan skips the release build;
# VPCS=N and BIG=N shrink the estate and the large plan (for a quick try; the figures above need the defaults).
# Bounded: nothing listens on the network; every step has a time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
VPCS=${VPCS:-80096}
BIG=${BIG:-10000}
for n in "$RUNS" "$VPCS" "$BIG"; do
  case "$n" in '' | *[!0-9]*) echo "RUNS, VPCS and BIG must be numbers, not '$n'" >&2; exit 2 ;; esac
done
if [ -z "${PEERPLAN:-}" ]; then
  cargo build --release -p server --bin peerplan
  PEERPLAN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/peerplan
fi
[ -x "$PEERPLAN" ] || { echo "no peerplan binary at $PEERPLAN" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== check on $VPCS VPCs (peerplan vs Python, $RUNS runs each)"
CHECK_OUT=$(timeout 1800 python3 scripts/bench-check.py "$PEERPLAN" --runs "$RUNS" --vpcs "$VPCS" | tee /dev/stderr)

# Median wall time of a command, in milliseconds, over N runs.
median_ms() {
  local n=$1; shift
  python3 - "$n" "$@" <<'EOF'
import statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=600)
    times.append(time.perf_counter() - t)
print(f"{statistics.median(times) * 1000:.0f}")
EOF
}

echo "== documentation exports"
"$PEERPLAN" generate --vpcs 1000 --subnets-per-vpc 2 --endpoints-per-subnet 1 -o "$WORK/p1000.json"
"$PEERPLAN" generate --vpcs "$BIG" --subnets-per-vpc 1 --endpoints-per-subnet 1 -o "$WORK/p10000.json"
declare -A MS
for f in md html; do
  MS[$f-1000]=$(median_ms "$RUNS" "$PEERPLAN" export "$WORK/p1000.json" --format "$f" -o "$WORK/out.$f")
  MS[$f-10000]=$(median_ms 1 "$PEERPLAN" export "$WORK/p10000.json" --format "$f" -o "$WORK/out.$f")
  echo "$f: 1,000 VPCs ${MS[$f-1000]} ms (median of $RUNS); $BIG VPCs ${MS[$f-10000]} ms"
done
MATRIX=$(median_ms "$RUNS" "$PEERPLAN" matrix "$WORK/p1000.json" --format csv)
echo "matrix (1,000 VPCs, csv): $MATRIX ms"

PP=$(sed -n 's/^peerplan check: *median \([0-9]*\) ms.*peak RSS \([0-9]*\) MiB.*/\1 ms, \2 MiB/p' <<<"$CHECK_OUT")
PY=$(sed -n 's/^python.*median \([0-9]*\) ms.*/\1 ms/p' <<<"$CHECK_OUT")
RATIO=$(sed -n 's/^ratio: peerplan is \([0-9.]*\)x.*/\1×/p' <<<"$CHECK_OUT")
cat <<EOF

| work | now (this machine) | target |
|---|---|---|
| \`peerplan check\` on $VPCS VPCs | $PP; Python $PY; peerplan/Python speed-up $RATIO | ≤ 300 ms, ≥ 10× Python, ≤ 300 MiB |
| \`export --format md\` / \`html\`, 1,000 VPCs | ${MS[md-1000]} ms / ${MS[html-1000]} ms | ≤ 1 s each |
| \`export --format md\` / \`html\`, $BIG VPCs | ${MS[md-10000]} ms / ${MS[html-10000]} ms | ≤ 10 s each |
EOF
