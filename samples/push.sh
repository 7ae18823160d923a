#!/usr/bin/env bash
# Publishes a file to nova-live in real time, the way OBS would.
#
#   samples/push.sh STREAM_KEY [FILE] [RTMP_URL]
#
# FILE defaults to samples/sample-360p.mp4 (looped until you stop it);
# RTMP_URL defaults to rtmp://127.0.0.1:1935/live.
set -euo pipefail
key=${1:?usage: push.sh STREAM_KEY [FILE] [RTMP_URL]}
file=${2:-"$(dirname "$0")/sample-360p.mp4"}
url=${3:-rtmp://127.0.0.1:1935/live}
exec ffmpeg -hide_banner -loglevel warning -re -stream_loop -1 -i "$file" -c copy -f flv "$url/$key"
