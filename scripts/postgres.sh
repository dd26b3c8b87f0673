#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (Debian's binaries) on a free loopback port, in a temporary folder, and prints
# `export …` lines for the caller to eval. Stop it with: scripts/postgres.sh stop DIR
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ "${1:-}" = "stop" ]; then
  dir=$2
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  else "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  exit 0
fi
dir=$(mktemp -d /tmp/peerplan-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
run "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
run "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=200" start >/dev/null
echo "export PEERPLAN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
echo "export PEERPLAN_PG_DIR=$dir"
