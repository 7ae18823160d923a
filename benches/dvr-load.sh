#!/usr/bin/env bash
# DVR benchmark: N real-time streams into nova-live, first with --storage off
# (live packaging only), then recorded to a local S3 server (s3s-fs):
# nova-live's CPU in both, segment-to-object latency and upload throughput.
# See benches/README.md.
#
#   benches/dvr-load.sh [OPTIONS]
#
# Options go to the harness (`dvr_load --help` lists them all), e.g.
#   --streams 16             simultaneous publishers (default 16)
#   --seconds 60             media seconds each publisher pushes (default 60)
#   --poll-ms 50             playlist and bucket polling interval
#   --database-url URL       nova-live on this PostgreSQL instead of its embedded one
#   --nova-arg=--upload-concurrency=8   extra `nova-live serve` argument (repeatable)
#   --json results.json      also write the results as JSON
#
# Installs what is missing (ffmpeg and nova-live's build dependencies with
# apt, s3s-fs with cargo), builds nova-live and the harness in release, and
# makes the 720p30 ≈ 3.2 Mb/s sample under $NOVA_BENCH_CACHE (default
# ~/.cache/nova-live) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source benches/lib/sample.sh

ensure_deps
ensure_s3s_fs # exports NOVA_S3S_FS, which the harness reads

build_nova=1
for arg in "$@"; do
  case "$arg" in
    --nova-live | --nova-live=*) build_nova=0 ;;
  esac
done
if [ "$build_nova" = 1 ]; then
  cargo build --release --locked -p nova-live
fi
cargo build --release --locked -p nova-benches --bin dvr_load

sample=$(bench_sample_720p)

# Later options override these defaults.
exec "$CARGO_TARGET_DIR/release/dvr_load" \
  --sample "$sample" \
  --nova-live "$CARGO_TARGET_DIR/release/nova-live" \
  "$@"
