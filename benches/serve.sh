#!/usr/bin/env bash
# HLS serving throughput: the live playlist, an LL-HLS blocking reload that
# is already satisfied, and a ≈ 1 MB segment, each served by nova-live
# directly, through the nginx edge (nginx/edge.sh), and by nginx serving the
# same bytes as static files (the reference). wrk on loopback, one run after
# the other on this machine. See benches/README.md, "HLS serving".
#
#   benches/serve.sh [--rounds 3] [--seconds 5] [--connections 32] [--threads 1] [--nova-live PATH]
#
#   --rounds       rounds of the nine runs; each figure is the median over them (default 3)
#   --seconds      length of each wrk run (default 5)
#   --connections  wrk's concurrent connections, the same for every run (default 32)
#   --threads      wrk's threads (default 1: the servers get the other core)
#   --nova-live    a nova-live binary to measure (default: build it in release)
#
# Installs what is missing (nginx, wrk, ffmpeg and nova-live's build
# dependencies; apt, as root or with sudo) and makes a 720p30 4 Mb/s sample
# (2 s segments of ≈ 1 MB) under $NOVA_BENCH_CACHE (default ~/.cache/nova-live).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib/deps.sh

rounds=3
seconds=5
connections=32
threads=1
nova_live=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --connections) connections=${2:?}; shift 2 ;;
    --threads) threads=${2:?}; shift 2 ;;
    --nova-live) nova_live=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ -z "$nova_live" ]; then
  ensure_deps nginx wrk curl
  cargo build --release --locked -p nova-live
  nova_live=$CARGO_TARGET_DIR/release/nova-live
else
  install_apt_packages nginx wrk curl ffmpeg
fi

# A segment of ≈ 1 MB: the source rendition's 2 s of 4000 kb/s video.
cache=${NOVA_BENCH_CACHE:-$HOME/.cache/nova-live}
sample=$cache/sample-720p-4m.mp4
if [ ! -s "$sample" ]; then
  echo "==> making $sample (20 s, 1280x720 30 fps, 4000 kb/s video)" >&2
  mkdir -p "$cache"
  samples/make-sample.sh "$cache/sample-720p-4m.partial.mp4" 20 1280x720 4000 >&2
  mv "$cache/sample-720p-4m.partial.mp4" "$sample"
fi

work=$(mktemp -d -t nova-serve-bench.XXXXXX)
pids=()
cleanup() {
  # SIGTERM to what this script started: nginx masters stop their workers.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # URL: until anything answers, at most 120 s
  for _ in $(seq 1 1200); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    sleep 0.1
  done
  echo "serve.sh: nothing answers at $1" >&2
  exit 1
}

# --- nova-live, with its embedded PostgreSQL and a real-time publisher ---
http_port=$(free_port)
rtmp_port=$(free_port)
nova=http://127.0.0.1:$http_port
# Its metrics listener on a free port too (through the environment, which a
# build from before --metrics-addr ignores).
NOVA_LOG=warn NOVA_METRICS_ADDR=127.0.0.1:$(free_port) "$nova_live" serve --data-dir "$work/nova" \
  --http-addr "127.0.0.1:$http_port" --rtmp-addr "127.0.0.1:$rtmp_port" \
  --public-url "$nova" --storage off >"$work/nova.log" &
pids+=($!)
wait_http "$nova/readyz"
token=$("$nova_live" token --user "$(cat /proc/sys/kernel/random/uuid)" --data-dir "$work/nova")
stream=$(curl -sf -X POST "$nova/api/v1/streams" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"title": "serving benchmark"}')
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)'"$1"')'; }
id=$(json '["id"]' <<<"$stream")
key=$(json '["stream_key"]' <<<"$stream")
# -c copy: the publisher costs next to nothing while wrk runs.
ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$sample" -c copy \
  -t 3600 -f flv "rtmp://127.0.0.1:$rtmp_port/live/$key" &
pids+=($!)

# The source rendition's LL-HLS playlist: what a low-latency player reloads.
playlist_path=/live/$id/source/index.m3u8
echo "==> waiting for 3 segments in $nova$playlist_path" >&2
for _ in $(seq 1 600); do
  count=$(curl -sf "$nova$playlist_path" | grep -c '^#EXTINF' || true)
  [ "${count:-0}" -ge 3 ] && break
  sleep 0.2
done
[ "${count:-0}" -ge 3 ] || { echo "serve.sh: the stream did not go live" >&2; exit 1; }

# The objects: a blocking reload for the first listed segment (satisfied
# at once: it is already there), and a segment.
playlist=$(curl -sf "$nova$playlist_path")
first_msn=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' <<<"$playlist")
first_msn=${first_msn:-0}
reload_path="$playlist_path?_HLS_msn=$first_msn&_HLS_part=0"
# The newest segment, copied for nginx static: picked again each round,
# since a segment leaves the live window (6 segments) after about 12 s.
pick_segment() {
  local name
  name=$(curl -sf "$nova$playlist_path" | grep -v '^#' | grep -v '^$' | tail -n 1)
  segment_path=/live/$id/source/$name
  curl -sf "$nova$segment_path" >"$work/static/root$segment_path"
  segment_size=$(wc -c <"$work/static/root$segment_path")
}

# --- nginx serving the same bytes as static files (the reference) ---
static_port=$(free_port)
mkdir -p "$work/static/root/live/$id/source" "$work/static/tmp"
curl -sf "$nova$playlist_path" >"$work/static/root$playlist_path"
cat >"$work/static/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $work/static/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    client_body_temp_path $work/static/tmp/body;
    proxy_temp_path $work/static/tmp/proxy;
    fastcgi_temp_path $work/static/tmp/fastcgi;
    uwsgi_temp_path $work/static/tmp/uwsgi;
    scgi_temp_path $work/static/tmp/scgi;
    types { application/vnd.apple.mpegurl m3u8; video/mp4 m4s mp4; video/mp2t ts; }
    server {
        listen 127.0.0.1:$static_port;
        root $work/static/root;
        add_header Cache-Control "public, max-age=1";
    }
}
CONF
/usr/sbin/nginx -p "$work/static/" -c "$work/static/nginx.conf" -e stderr &
pids+=($!)
static=http://127.0.0.1:$static_port

# --- the edge in front of nova-live ---
edge_port=$(free_port)
nginx/edge.sh --origin "127.0.0.1:$http_port" --listen "127.0.0.1:$edge_port" \
  --cache-dir "$work/edge" 2>"$work/edge.log" &
pids+=($!)
edge=http://127.0.0.1:$edge_port
wait_http "$static$playlist_path"
wait_http "$edge$playlist_path"

# --- the runs ---
# wrk --latency prints "Requests/sec: N" and a "99% T" line (T in us/ms/s).
measure() { # URL -> "requests/s p99_ms"
  local out
  out=$(wrk -t "$threads" -c "$connections" -d "${seconds}s" --latency "$1")
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "serve.sh: errors from $1:" >&2
    echo "$out" >&2
  fi
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000}
         else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}
         printf "%.2f", v}' <<<"$out")
  echo "$rps $p99"
}

# Round after round, the servers one after the other within each: a change
# in what else the machine runs shifts all three alike. Medians over rounds.
declare -A results
objects=(segment playlist reload)
declare -A paths=([playlist]=$playlist_path [reload]=$reload_path)
declare -A bases=([nova]=$nova [edge]=$edge [static]=$static)
for round in $(seq 1 "$rounds"); do
  pick_segment
  paths[segment]=$segment_path
  for object in "${objects[@]}"; do
    for server in nova edge static; do
      url=${bases[$server]}${paths[$object]}
      curl -sf -o /dev/null "$url" # warm: the edge's first request is a miss
      echo "==> round $round/$rounds: $object from $server: $url" >&2
      results[$object.$server]+="$(measure "$url")"$'\n'
    done
  done
done

median() { # column number: the median of that column of stdin
  sort -g -k "$1" | awk -v c="$1" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

playlist_size=$(wc -c <"$work/static/root$playlist_path")
echo
echo "HLS serving, wrk -t$threads -c$connections -d${seconds}s, median of $rounds rounds, loopback ($(nproc) cores; $(uname -r); load $(cut -d" " -f1-3 /proc/loadavg))"
echo "live playlist: $playlist_size B; segment: $segment_size B (the last round's)"
echo
printf '%-28s %-14s %12s %10s %10s  %s\n' object server 'requests/s' 'p99 ms' 'vs static' 'requests/s by round'
for object in "${objects[@]}"; do
  case $object in
    playlist) label="live playlist" ;;
    reload) label="blocking reload, satisfied" ;;
    segment) label="segment ($((segment_size / 1024)) KiB)" ;;
  esac
  static_rps=$(printf '%s' "${results[$object.static]}" | median 1)
  for server in nova edge static; do
    rps=$(printf '%s' "${results[$object.$server]}" | median 1)
    p99=$(printf '%s' "${results[$object.$server]}" | median 2)
    case $server in nova) name=nova-live ;; edge) name="nginx edge" ;; static) name="nginx static" ;; esac
    ratio=$(awk -v a="$rps" -v b="$static_rps" 'BEGIN { printf "%.2fx", a / b }')
    rounds_rps=$(printf '%s' "${results[$object.$server]}" | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 }')
    printf '%-28s %-14s %12.0f %10s %10s  %s\n' "$label" "$name" "$rps" "$p99" "$ratio" "$rounds_rps"
    label=
  done
done
