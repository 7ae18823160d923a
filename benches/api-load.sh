#!/usr/bin/env bash
# API load test: 1,000 concurrent viewers on one stream (stream reads, viewer
# heartbeats, chat list and post) and one chat message fanned out to 1,000
# WebSocket subscribers, against nova-live on a private PostgreSQL with
# pg_stat_statements. See benches/README.md.
#
#   benches/api-load.sh [--viewers 1000] [--seconds 15] [--json results.json]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source scripts/lib/postgres.sh
ensure_deps

cargo build --release --locked -p nova-live -p nova-benches --bin nova-live --bin api_load

work=$(mktemp -d /tmp/nova-api-load.XXXXXX)
cleanup() {
  stop_private_postgres "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
start_private_postgres "$work/pg" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all

# 1,000 client connections and as many on the server side.
ulimit -n "$(ulimit -Hn)"
"$CARGO_TARGET_DIR/release/api_load" --nova-live "$CARGO_TARGET_DIR/release/nova-live" "$@"
