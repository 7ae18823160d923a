# The 720p30 ≈ 3.2 Mb/s sample the RTMP benchmarks publish, made once under
# $NOVA_BENCH_CACHE (default ~/.cache/nova-live). Sourced by benches/*.sh
# from the repository root.

# Prints the sample's path, making it first if it is missing.
bench_sample_720p() {
  local cache=${NOVA_BENCH_CACHE:-$HOME/.cache/nova-live}
  local sample=$cache/sample-720p.mp4
  if [ ! -s "$sample" ]; then
    echo "==> making $sample (20 s, 1280x720 30 fps, 3000 kb/s video)" >&2
    mkdir -p "$cache"
    samples/make-sample.sh "$cache/sample-720p.partial.mp4" 20 1280x720 3000 >&2
    mv "$cache/sample-720p.partial.mp4" "$sample"
  fi
  echo "$sample"
}
