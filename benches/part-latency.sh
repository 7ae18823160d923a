#!/usr/bin/env bash
# LL-HLS part latency of nova-live: from a part's last frame leaving an
# RTMP publisher (ffmpeg -re) to the part being listed by a blocking
# playlist reload and downloaded, next to whole segments. See benches/README.md.
#
#   benches/part-latency.sh [OPTIONS]
#
# Options go to the harness (`part_latency --help`), e.g.
#   --seconds 70             media seconds published (default 70)
#   --database-url URL       nova-live on this PostgreSQL instead of its embedded one
#   --nova-arg=--part-target=0.3   extra `nova-live serve` argument (repeatable)
#   --json results.json      also write the results as JSON
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source benches/lib/sample.sh

ensure_deps
cargo build --release --locked -p nova-live
cargo build --release --locked -p nova-benches --bin part_latency

sample=$(bench_sample_720p)

exec "$CARGO_TARGET_DIR/release/part_latency" \
  --sample "$sample" \
  --nova-live "$CARGO_TARGET_DIR/release/nova-live" \
  "$@"
