#!/usr/bin/env bash
# Transcoding-ladder benchmark: nova-live's Ladder against the ffmpeg CLI on
# the same 60 s 1080p30 H.264 source, same ladder (720p 3 Mb/s, 480p 1.5 Mb/s,
# 360p 800 kb/s, libx264, VBV 2x, keyframes only where the source has them).
# Reports CPU seconds (user + system, from wait4) of each and the ratio.
# See benches/README.md.
#
#   benches/ladder.sh [--preset veryfast] [--only both|nova|ffmpeg] [--json out.json]
#
# Installs what is missing (ffmpeg and nova-live's build dependencies), builds
# the harness in release, and makes the source under
# $NOVA_BENCH_CACHE/bench (default ~/.cache/nova-live/bench) once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh

ensure_deps
cargo build --release --locked -p nova-benches --bin ladder

cache=${NOVA_BENCH_CACHE:-$HOME/.cache/nova-live}/bench
source_flv=$cache/ladder-1080p30-60s.flv
if [ ! -s "$source_flv" ]; then
  echo "==> making $source_flv (60 s, 1920x1080 30 fps, 6000 kb/s, keyframe every 2 s, B-frames)" >&2
  mkdir -p "$cache"
  samples/make-sample.sh "$cache/ladder-1080p30-60s.partial.mp4" 60 1920x1080 6000
  ffmpeg -hide_banner -loglevel error -y -i "$cache/ladder-1080p30-60s.partial.mp4" \
    -map 0:v -c copy -f flv "$cache/ladder-1080p30-60s.partial.flv"
  rm "$cache/ladder-1080p30-60s.partial.mp4"
  mv "$cache/ladder-1080p30-60s.partial.flv" "$source_flv"
fi

exec "$CARGO_TARGET_DIR/release/ladder" --source "$source_flv" "$@"
