#!/usr/bin/env bash
# Makes an H.264/AAC test clip with OBS-like encoder settings: 30 fps,
# a keyframe every 2 s, B-frames, AAC-LC 48 kHz stereo.
#
#   samples/make-sample.sh OUT.mp4 [SECONDS] [WIDTHxHEIGHT] [VIDEO_KBPS]
#
# The committed samples/sample-360p.mp4 is `make-sample.sh sample-360p.mp4 10 640x360 900`.
set -euo pipefail
out=${1:?usage: make-sample.sh OUT.mp4 [SECONDS] [WIDTHxHEIGHT] [VIDEO_KBPS]}
seconds=${2:-10}
size=${3:-1280x720}
kbps=${4:-3000}
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=${size}:rate=30" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:beep_factor=4" \
  -t "$seconds" \
  -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p \
  -b:v "${kbps}k" -maxrate "${kbps}k" -bufsize "$((kbps * 2))k" \
  -g 60 -keyint_min 60 -sc_threshold 0 -bf 2 \
  -c:a aac -b:a 128k -ac 2 \
  -movflags +faststart "$out"
