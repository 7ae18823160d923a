#!/usr/bin/env bash
# RTMP load test: nova-live against nginx-rtmp, same sample, same machine,
# one server after the other. See benches/README.md.
#
#   benches/load.sh [OPTIONS]
#
# Options go to the harness (`load --help` lists them all), e.g.
#   --streams 1,16,64        simultaneous publishers, one run per number (default 1,16)
#   --seconds 30             media seconds each paced publisher pushes (default 30)
#   --servers nova-live,nginx
#   --database-url URL       nova-live on this PostgreSQL instead of its embedded one
#   --nova-arg=--hls-container=ts   extra `nova-live serve` argument (repeatable)
#   --no-fast                skip the as-fast-as-possible run
#   --json results.json      also write the results as JSON
#
# Installs what is missing (nginx, libnginx-mod-rtmp, ffmpeg and nova-live's
# build dependencies; apt, as root or with sudo), builds nova-live and the
# harness in release, and makes the 720p30 ≈ 3.2 Mb/s sample under
# $NOVA_BENCH_CACHE (default ~/.cache/nova-live) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source benches/lib/sample.sh

# nova-live is built unless it is not measured or its binary is given.
build_nova=1
servers=nova-live
prev=
for arg in "$@"; do
  case "$arg" in
    --servers=*) servers=${arg#--servers=} ;;
    --nova-live | --nova-live=*) build_nova=0 ;;
  esac
  if [ "$prev" = --servers ]; then servers=$arg; fi
  prev=$arg
done
[[ $servers == *nova* ]] || build_nova=0

if [ "$build_nova" = 1 ]; then
  ensure_deps nginx libnginx-mod-rtmp
else
  install_apt_packages nginx libnginx-mod-rtmp ffmpeg
  ensure_rust
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nova-live/target}"
fi

if [ "$build_nova" = 1 ]; then
  cargo build --release --locked -p nova-live
fi
cargo build --release --locked -p nova-benches --bin load

sample=$(bench_sample_720p)

# Later options override these defaults.
exec "$CARGO_TARGET_DIR/release/load" \
  --sample "$sample" \
  --nova-live "$CARGO_TARGET_DIR/release/nova-live" \
  "$@"
