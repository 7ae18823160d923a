# Installs what building and running nova-live needs, when it is missing.
# Sourced by scripts/run and scripts/test; works as root or as a sudo user.

APT_PACKAGES=(
  ffmpeg pkg-config clang libclang-dev strace
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  libswresample-dev libavfilter-dev libavdevice-dev
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

have_pg_server() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

install_apt_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing: ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "==> installing the Rust toolchain (rustup)" >&2
    install_apt_packages curl ca-certificates
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if command -v rustup >/dev/null 2>&1; then
    for component in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
    done
  fi
}

ensure_deps() {
  local extra=()
  # The server packages only: nova-live runs its own cluster, not the system's.
  have_pg_server || extra+=(postgresql)
  install_apt_packages "${APT_PACKAGES[@]}" "${extra[@]}" "$@"
  ensure_rust
  # Builds are shared between clones (CI clones afresh every run).
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nova-live/target}"
}

pg_bin_dir() {
  if [ -n "${NOVA_PG_BIN:-}" ]; then echo "$NOVA_PG_BIN"; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$newest" ]; then echo "$newest"; else dirname "$(command -v initdb)"; fi
}

# The API fuzzer (PyPI), pinned, in a virtualenv kept beside the build cache.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv="$HOME/.cache/nova-live/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "==> installing schemathesis $SCHEMATHESIS_VERSION" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export NOVA_SCHEMATHESIS="$venv/bin/schemathesis"
}

# The real S3 server the nova-recorder tests run against (0.15+ needs a newer Rust).
S3S_FS_VERSION=0.14.1
ensure_s3s_fs() {
  local bin
  bin=$(command -v s3s-fs 2>/dev/null || echo "$HOME/.cargo/bin/s3s-fs")
  if ! "$bin" --version 2>/dev/null | grep -qx "s3s-fs $S3S_FS_VERSION"; then
    echo "==> installing s3s-fs $S3S_FS_VERSION" >&2
    cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked
    bin="$HOME/.cargo/bin/s3s-fs"
  fi
  export NOVA_S3S_FS="$bin"
}

# cargo-fuzz drives libFuzzer over the targets in fuzz/; they build on the
# nightly toolchain (sanitizer-coverage flags are unstable).
CARGO_FUZZ_VERSION=0.13.2
ensure_cargo_fuzz() {
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "==> installing the nightly Rust toolchain (for cargo-fuzz)" >&2
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
}
