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

ensure_deps
cargo build --release --locked -p nova-live
cargo build --release --locked -p nova-benches --bin part_latency

cache=${NOVA_BENCH_CACHE:-$HOME/.cache/nova-live}
sample=$cache/sample-720p.mp4
if [ ! -s "$sample" ]; then
  echo "==> making $sample (20 s, 1280x720 30 fps, 3000 kb/s video)" >&2
  mkdir -p "$cache"
  samples/make-sample.sh "$cache/sample-720p.partial.mp4" 20 1280x720 3000
  mv "$cache/sample-720p.partial.mp4" "$sample"
fi

exec "$CARGO_TARGET_DIR/release/part_latency" \
  --sample "$sample" \
  --nova-live "$CARGO_TARGET_DIR/release/nova-live" \
  "$@"
