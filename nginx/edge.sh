#!/usr/bin/env bash
# Runs Debian's nginx in the foreground as a caching edge in front of one or
# more nova-live origins. See nginx/README.md.
#
#   nginx/edge.sh --origin HOST:PORT [--origin HOST:PORT ...] --listen ADDR:PORT --cache-dir DIR
#                 [--tls-cert FILE --tls-key FILE] [--cache-size SIZE]
#                 [--access-log FILE] [--log-level LEVEL] [--check]
#
#   --origin       a nova-live HTTP listener (its --http-addr); repeatable
#   --listen       where players connect; HTTP/1.1, or with --tls-cert/--tls-key
#                  HTTPS with HTTP/2 (browsers speak HTTP/2 only over TLS)
#   --cache-dir    the cache, the generated config, the pid file and temp files;
#                  created if missing. As root, nginx's workers run as its owner.
#   --cache-size   the cache's upper bound on disk (default 10g)
#   --access-log   where to log requests, with the cache status (default: off)
#   --log-level    nginx's error log level, to stderr (default: warn)
#   --check        render the config, test it with `nginx -t` and exit
#
# NGINX overrides the nginx binary (default /usr/sbin/nginx).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
nginx=${NGINX:-/usr/sbin/nginx}
origins=()
listen=
cache_dir=
cache_size=10g
tls_cert=
tls_key=
access_log=off
log_level=warn
check=0

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --origin) origins+=("${2:?--origin needs HOST:PORT}"); shift 2 ;;
    --listen) listen=${2:?--listen needs ADDR:PORT}; shift 2 ;;
    --cache-dir) cache_dir=${2:?--cache-dir needs a directory}; shift 2 ;;
    --cache-size) cache_size=${2:?--cache-size needs a size}; shift 2 ;;
    --tls-cert) tls_cert=${2:?--tls-cert needs a file}; shift 2 ;;
    --tls-key) tls_key=${2:?--tls-key needs a file}; shift 2 ;;
    --access-log) access_log=${2:?--access-log needs a file}; shift 2 ;;
    --log-level) log_level=${2:?--log-level needs a level}; shift 2 ;;
    --check) check=1; shift ;;
    -h | --help) usage ;;
    *) echo "edge.sh: unknown argument: $1" >&2; usage ;;
  esac
done

[ ${#origins[@]} -gt 0 ] || { echo "edge.sh: at least one --origin is needed" >&2; usage; }
[ -n "$listen" ] || { echo "edge.sh: --listen is needed" >&2; usage; }
[ -n "$cache_dir" ] || { echo "edge.sh: --cache-dir is needed" >&2; usage; }
if { [ -n "$tls_cert" ] && [ -z "$tls_key" ]; } || { [ -z "$tls_cert" ] && [ -n "$tls_key" ]; }; then
  echo "edge.sh: --tls-cert and --tls-key go together" >&2
  exit 2
fi
[ -x "$nginx" ] || { echo "edge.sh: no nginx at $nginx (apt-get install nginx)" >&2; exit 1; }

mkdir -p "$cache_dir"
cache_dir=$(cd "$cache_dir" && pwd)
for dir in cache tmp/body tmp/proxy tmp/fastcgi tmp/uwsgi tmp/scgi; do
  mkdir -p "$cache_dir/$dir"
done
# nginx reads the certificate before dropping privileges, so paths may be relative.
[ -z "$tls_cert" ] || tls_cert=$(realpath "$tls_cert")
[ -z "$tls_key" ] || tls_key=$(realpath "$tls_key")
[ "$access_log" = off ] || access_log="$(realpath -m "$access_log") combined"

# As root, the master keeps root (to bind low ports, raise the open-file
# limit) and the workers take the cache directory's owner, who can write there.
root_directives=
if [ "$(id -u)" -eq 0 ]; then
  root_directives="user $(stat -c %U "$cache_dir") $(stat -c %G "$cache_dir");
worker_rlimit_nofile 16384;"
fi

origin_servers=
for origin in "${origins[@]}"; do
  # A failed origin is left alone for 5 s, then tried again.
  origin_servers+="        server $origin max_fails=1 fail_timeout=5s;"$'\n'
done

if [ -n "$tls_cert" ]; then
  listen_directives="        listen $listen ssl http2;"
  tls_directives="        ssl_certificate $tls_cert;
        ssl_certificate_key $tls_key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:nova_tls:10m;
        ssl_session_timeout 1h;"
else
  listen_directives="        listen $listen;"
  tls_directives=
fi

config=$(<"$here/edge.conf.template")
config=${config//@CACHE_DIR@/$cache_dir}
config=${config//@CACHE_SIZE@/$cache_size}
config=${config//@LOG_LEVEL@/$log_level}
config=${config//@ACCESS_LOG@/$access_log}
config=${config//@ROOT_DIRECTIVES@/$root_directives}
config=${config//@ORIGIN_SERVERS@/${origin_servers%$'\n'}}
config=${config//@LISTEN_DIRECTIVES@/$listen_directives}
config=${config//@TLS_DIRECTIVES@/$tls_directives}
printf '%s\n' "$config" >"$cache_dir/edge.conf"

# -p: relative paths (and nginx's own defaults) under the cache directory;
# -e: errors to stderr before the config is read.
args=(-p "$cache_dir/" -c "$cache_dir/edge.conf" -e stderr)
if [ "$check" = 1 ]; then
  exec "$nginx" "${args[@]}" -t
fi
echo "edge.sh: $listen -> ${origins[*]} (config $cache_dir/edge.conf)" >&2
exec "$nginx" "${args[@]}"
