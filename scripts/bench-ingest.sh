#!/usr/bin/env bash
# Ingestion benchmark: wrk POSTs PagerDuty Events v2 triggers (each with its own dedup key, all
# to one service) to Firstline's release binary, on SQLite and on a throwaway PostgreSQL
# cluster with its default durability (fsync on, synchronous_commit=on). Every 202 means the
# event is committed, so wrk's requests/s is the durable accepted rate; p50/p99 are the 202's
# latency. Next to it, the same database's raw rate: rows of about an alert's size inserted in
# transactions of 512 (the ingestor's largest batch) with the server's connection settings
# (server/examples/raw_insert.rs). Loopback only; stops by itself.
# Usage: scripts/bench-ingest.sh [seconds per run, default 10] [connections, default 64]
#        [backends, default "sqlite postgres"]
# FIRSTLINE_BIN=path runs that binary instead of building the release; the two examples
# (bench_key, raw_insert) are built with cargo unless FIRSTLINE_EXAMPLES=dir holds them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
DURATION="${1:-10}"
CONNS="${2:-64}"
BACKENDS="${3:-sqlite postgres}"
PORT="${BENCH_INGEST_PORT:-3921}"
PG_PORT="${BENCH_INGEST_PG_PORT:-3922}"
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v sqlite3 >/dev/null || apt_install sqlite3
target="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -n "${FIRSTLINE_BIN:-}" ]; then
  bin="$FIRSTLINE_BIN"
else
  ensure_tools
  build_release >/dev/null
  bin="$ROOT/target/release/firstline"
fi
if [ -n "${FIRSTLINE_EXAMPLES:-}" ]; then
  examples="$FIRSTLINE_EXAMPLES"
else
  say "Building the benchmark's helpers (release)"
  (cd "$ROOT" && cargo build -q --release -p firstline --example bench_key --example raw_insert)
  examples="$target/release/examples"
fi
[ -x "$bin" ] || { echo "no Firstline binary at $bin" >&2; exit 2; }

work="$(mktemp -d)"
chmod 755 "$work"
cleanup() {
  [ -n "${fl_pid:-}" ] && kill "$fl_pid" 2>/dev/null && wait "$fl_pid" 2>/dev/null || true
  # Through pg_ctl: the postmaster may run under runuser, which does not pass signals on.
  [ -n "${pg_pid:-}" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/trigger.lua" <<'LUA'
-- One PagerDuty trigger per request, each with its own dedup key.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  key = args[1]
  n = 0
end
function request()
  n = n + 1
  local body = string.format(
    '{"routing_key":"%s","event_action":"trigger","dedup_key":"bench-%d-%d",' ..
    '"payload":{"summary":"Disk almost full on db1 (event %d)","source":"db1.example.org",' ..
    '"severity":"critical","custom_details":{"free disk":"3%%","mount":"/var/lib/postgresql"}},' ..
    '"links":[{"href":"https://runbooks.example.org/disk","text":"Runbook"}]}',
    key, tid, n, n)
  return wrk.format("POST", "/v2/enqueue", { ["Content-Type"] = "application/json" }, body)
end
LUA


# Runs one backend: the server under wrk, then the raw insert rate; prints one line each.
run() {
  local backend="$1" url raw_url count
  case "$backend" in
    sqlite)
      url="sqlite://$work/bench.db"
      raw_url="sqlite://$work/raw.db"
      count() { sqlite3 "$work/bench.db" 'SELECT COUNT(*) FROM alerts'; }
      ;;
    postgres)
      start_postgres bench raw
      url="postgres://postgres@127.0.0.1:$PG_PORT/bench"
      raw_url="postgres://postgres@127.0.0.1:$PG_PORT/raw"
      count() { psql -qAt -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -c 'SELECT COUNT(*) FROM alerts'; }
      ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  local key
  key="$("$examples/bench_key" "$url")"
  FIRSTLINE_DATABASE_URL="$url" FIRSTLINE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn \
    FIRSTLINE_INGEST_RATE_PER_MIN=1000000 "$bin" serve >"$work/firstline-$backend.log" 2>&1 &
  fl_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$work/trigger.lua" "http://127.0.0.1:$PORT" -- "$key" \
    >"$work/wrk-$backend.txt"
  kill "$fl_pid"; wait "$fl_pid" 2>/dev/null || true; fl_pid=""
  local rps p50 p99 total bad stored
  rps="$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$backend.txt")"
  p50="$(awk '$1 == "50%" {print $2}' "$work/wrk-$backend.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$work/wrk-$backend.txt")"
  total="$(awk '/requests in/ {print $1}' "$work/wrk-$backend.txt")"
  bad="$(awk '/Non-2xx or 3xx responses/ {print $5}' "$work/wrk-$backend.txt")"
  stored="$(count)"
  printf '%-9s firstline: %9s events/s accepted (202)  p50 %8s  p99 %8s  (%s answered, %s not 202, %s stored)\n' \
    "$backend" "$rps" "$p50" "$p99" "$total" "${bad:-0}" "$stored"
  if [ -n "$bad" ] && [ "$bad" != 0 ]; then
    echo "  answers other than 202: see $work/firstline-$backend.log" >&2
    tail -n 5 "$work/firstline-$backend.log" >&2 || true
  fi
  printf '%-9s %s\n' "$backend" "$("$examples/raw_insert" "$raw_url" "$DURATION")"
}

say "Ingestion: ${DURATION}s per run, $CONNS connections, wrk -t2"
for b in $BACKENDS; do run "$b"; done
