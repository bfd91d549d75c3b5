#!/usr/bin/env bash
# Load benchmark of the public status page, its live body and /api/v2/summary.json: wrk against Firstline's
# release binary and against nginx serving the same bytes from disk, same run, same machine,
# loopback only. Prints requests/s for both and the ratio (target: Firstline >= 0.7 of nginx).
# Usage: scripts/bench-status.sh [seconds per run, default 10] [connections, default 64]
# FIRSTLINE_BIN=path runs that binary instead of building the release (to compare versions).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
DURATION="${1:-10}"
CONNS="${2:-64}"
command -v wrk >/dev/null || apt_install wrk
command -v nginx >/dev/null || apt_install nginx
if [ -n "${FIRSTLINE_BIN:-}" ]; then
  bin="$FIRSTLINE_BIN"
else
  ensure_tools
  build_release >/dev/null
  bin="$ROOT/target/release/firstline"
fi

work="$(mktemp -d)"
fl_port=3901
ngx_port=3902
cleanup() {
  [ -n "${fl_pid:-}" ] && kill "$fl_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

FIRSTLINE_DATABASE_URL="sqlite://$work/bench.db" FIRSTLINE_LISTEN="127.0.0.1:$fl_port" RUST_LOG=warn \
  "$bin" demo >"$work/firstline.log" 2>&1 &
fl_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$fl_port/readyz" >/dev/null && break; sleep 0.1; done

mkdir -p "$work/www/api/v2"
curl -sf "http://127.0.0.1:$fl_port/status" -o "$work/www/status.html"
curl -sf "http://127.0.0.1:$fl_port/api/v2/summary.json" -o "$work/www/api/v2/summary.json"
mkdir -p "$work/www/status"
curl -sf "http://127.0.0.1:$fl_port/status/live" -o "$work/www/status/live.html"

cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { text/html html; application/json json; }
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp;
  scgi_temp_path $work/tmp;
  server {
    listen 127.0.0.1:$ngx_port;
    root $work/www;
    location = /status { default_type text/html; try_files /status.html =404; }
    location = /status/live { default_type text/html; try_files /status/live.html =404; }
    etag on;
  }
}
NGINX
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf"
sleep 0.3

rps() { wrk -t2 -c"$CONNS" -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
printf '%-28s %14s %14s %8s\n' "path (${DURATION}s, ${CONNS} conns)" "firstline r/s" "nginx r/s" "ratio"
for path in /status /status/live /api/v2/summary.json; do
  f=$(rps "http://127.0.0.1:$fl_port$path")
  n=$(rps "http://127.0.0.1:$ngx_port$path")
  printf '%-28s %14s %14s %8s\n' "$path" "$f" "$n" "$(awk -v a="$f" -v b="$n" 'BEGIN { printf "%.2f", a / b }')"
done
echo "bytes: /status $(wc -c <"$work/www/status.html"), /status/live $(wc -c <"$work/www/status/live.html"), summary.json $(wc -c <"$work/www/api/v2/summary.json")"
# What one change costs an open page: the SSE announcement, then one compressed fetch of the body.
for enc in br gzip; do
  echo "/status/live as $enc: $(curl -sf -H "accept-encoding: $enc" "http://127.0.0.1:$fl_port/status/live" | wc -c) bytes"
done
echo "firstline RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' /proc/$fl_pid/status)"
