# A private PostgreSQL cluster on a free loopback port, for the test suite
# and the benchmarks. Sourced after deps.sh (needs pg_bin_dir).
#
#   start_private_postgres DIR [-c name=value ...]   exports DATABASE_URL
#   stop_private_postgres DIR

# initdb refuses root: as root, the cluster belongs to the postgres user.
run_as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_private_postgres() {
  local dir=$1
  shift
  local pg_bin port
  pg_bin=$(pg_bin_dir)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  chmod 755 "$(dirname "$dir")"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  echo "==> starting PostgreSQL on 127.0.0.1:$port" >&2
  run_as_pg_owner "$pg_bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  run_as_pg_owner "$pg_bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 $*" start >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_private_postgres() {
  run_as_pg_owner "$(pg_bin_dir)/pg_ctl" -D "$1" -m immediate -w stop >/dev/null 2>&1 || true
}
