#!/usr/bin/env bash
# Fuzzes the control plane from its own OpenAPI document (/v1/openapi.json) with schemathesis, bounded: a fixed
# seed, 20 examples per operation, each phase run once (no --max-time: with it, schemathesis repeats fuzzing until
# the time is spent), a 15-minute cap as a safety net, loopback only. Fails on any server error, any status, header or content type
# the document does not declare, and any response that violates its schema.
#
# The document declares, per operation, only the statuses it can return, and links each create to the get,
# update and delete of what it created; scripts/schemathesis_hooks.py generates valid values for the document's
# custom formats (IPv4 blocks, names) so that creates succeed and the stateful phase follows those links with
# real ids.
#
# positive_data_acceptance is left out on purpose: a JSON schema cannot say that "10.0.0.0/33" is not a CIDR
# block or that an id must exist, so schema-valid bodies are often, rightly, refused with a 400 naming the value.
#
# Usage: scripts/schemathesis.sh PATH/TO/peerplan
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:?usage: scripts/schemathesis.sh PATH/TO/peerplan}")
ST="$PWD/tools/venv/bin/schemathesis"
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEY=$("$BIN" control-plane account create fuzz --data "$DATA" --format json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
"$BIN" control-plane serve --addr "127.0.0.1:$PORT" --data "$DATA" --rate-limit 1000000 >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/v1/openapi.json" -o /dev/null 2>/dev/null && break
  sleep 0.1
done
cd "$DATA"
timeout 900 "$ST" run "http://127.0.0.1:$PORT/v1/openapi.json" \
  -H "Authorization: Bearer $KEY" \
  --max-examples 20 --seed 1 --generation-database none --no-color \
  --checks all --exclude-checks positive_data_acceptance \
  --request-timeout 10
