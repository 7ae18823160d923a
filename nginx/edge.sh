#!/usr/bin/env bash
# Runs Debian's nginx in the foreground as a caching edge in front of one or
# more nova-live origins. See nginx/README.md.
#
#   nginx/edge.sh --origin HOST:PORT [--origin HOST:PORT ...] --listen ADDR:PORT --cache-dir DIR
#                 [--tls-cert FILE --tls-key FILE] [--cache-size SIZE]
#                 [--rtmp-listen ADDR:PORT --rtmp-origin HOST:PORT [--rtmp-origin ...]]
#                 [--access-log FILE] [--log-level LEVEL] [--check]
#
#   --origin       a nova-live HTTP listener (its --http-addr); repeatable
#   --listen       where players connect; HTTP/1.1, or with --tls-cert/--tls-key
#                  HTTPS with HTTP/2 (browsers speak HTTP/2 only over TLS)
#   --cache-dir    the cache, the generated config, the pid file and temp files;
#                  created if missing. As root, nginx's workers run as its owner.
#   --cache-size   the cache's upper bound on disk (default 10g)
#   --rtmp-listen  also pass RTMP through to the origins (nginx's stream module,
#                  Debian's libnginx-mod-stream), at this address
#   --rtmp-origin  a nova-live RTMP listener (its --rtmp-addr); repeatable
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
rtmp_listen=
rtmp_origins=()
stream_module=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
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
    --rtmp-listen) rtmp_listen=${2:?--rtmp-listen needs ADDR:PORT}; shift 2 ;;
    --rtmp-origin) rtmp_origins+=("${2:?--rtmp-origin needs HOST:PORT}"); shift 2 ;;
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
if { [ -n "$rtmp_listen" ] && [ ${#rtmp_origins[@]} -eq 0 ]; } || { [ -z "$rtmp_listen" ] && [ ${#rtmp_origins[@]} -gt 0 ]; }; then
  echo "edge.sh: --rtmp-listen and --rtmp-origin go together" >&2
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

stream_directive=
rtmp_block=
if [ -n "$rtmp_listen" ]; then
  [ -f "$stream_module" ] || {
    echo "edge.sh: no nginx stream module at $stream_module (apt-get install libnginx-mod-stream)" >&2
    exit 1
  }
  stream_directive="load_module $stream_module;"
  rtmp_servers=
  for origin in "${rtmp_origins[@]}"; do
    rtmp_servers+="        server $origin max_fails=1 fail_timeout=5s;"$'\n'
  done
  # Bytes passed as they are: the origin sees the edge's address, so its
  # per-address RTMP limits count every broadcaster behind this edge.
  rtmp_block="
# RTMP passed through to the origins, byte for byte.
stream {
    upstream nova_rtmp {
        # A broadcaster reconnecting lands on the same origin; one that
        # refuses the connection is skipped.
        hash \$remote_addr consistent;
${rtmp_servers%$'\n'}
    }
    server {
        listen $rtmp_listen;
        proxy_pass nova_rtmp;
        proxy_connect_timeout 5s;
    }
}"
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
config=${config//@STREAM_MODULE@/$stream_directive}
config=${config//@RTMP_BLOCK@/$rtmp_block}
printf '%s\n' "$config" >"$cache_dir/edge.conf"

# -p: relative paths (and nginx's own defaults) under the cache directory;
# -e: errors to stderr before the config is read.
args=(-p "$cache_dir/" -c "$cache_dir/edge.conf" -e stderr)
if [ "$check" = 1 ]; then
  exec "$nginx" "${args[@]}" -t
fi
echo "edge.sh: $listen -> ${origins[*]} (config $cache_dir/edge.conf)" >&2
exec "$nginx" "${args[@]}"
