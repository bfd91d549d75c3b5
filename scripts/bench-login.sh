#!/usr/bin/env bash
# Login flood benchmark: starts the Firstline binary on a throwaway SQLite database with one user
# (created with `firstline user add`), floods POST /login with wrong passwords from many
# concurrent connections, and meanwhile logs in with the right password from another loopback
# address (127.0.0.2). Two rounds:
#   1. one network: every wrong login comes from 127.0.0.1 (the throttle's case);
#   2. many networks: 127.0.0.1 is a trusted proxy and each wrong login carries a new
#      X-Forwarded-For address, so none is throttled and all reach the password hashing queue
#      (the memory bound's case).
# Prints the server's RSS before, its peak (VmHWM) after each round, requests and status counts,
# and how the correct login went. Loopback only; stops by itself.
# Usage: scripts/bench-login.sh [binary, default target/release/firstline] [seconds per round,
#        default 15] [connections, default 200]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
BIN="${1:-$ROOT/target/release/firstline}"
DURATION="${2:-15}"
CONNS="${3:-200}"
PORT="${BENCH_LOGIN_PORT:-3911}"
EMAIL="bench@example.org"
PASSWORD="bench password that is right"
LIMIT_KB=$((100 * 1024))

[ -x "$BIN" ] || { echo "no Firstline binary at $BIN (build it, or pass its path)" >&2; exit 2; }
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl

work="$(mktemp -d)"
cleanup() {
  [ -n "${fl_pid:-}" ] && kill "$fl_pid" 2>/dev/null && wait "$fl_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export FIRSTLINE_DATABASE_URL="sqlite://$work/bench.db"
export FIRSTLINE_LISTEN="127.0.0.1:$PORT"
export FIRSTLINE_BASE_URL="http://127.0.0.1:$PORT"
export FIRSTLINE_TRUSTED_PROXIES="127.0.0.1/32"
export RUST_LOG=warn
printf '%s\n' "$PASSWORD" | "$BIN" user add --email "$EMAIL" --name "Bench User" --admin >/dev/null
"$BIN" serve >"$work/firstline.log" 2>&1 &
fl_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$work/firstline.log" >&2; exit 1; }

rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$fl_pid/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }

# A right login from 127.0.0.2 (a different client address on loopback): the status, retried
# up to $1 times on 429 as Retry-After asks (a person would press the button again).
right_login() {
  local tries=0 code
  while :; do
    tries=$((tries + 1))
    code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 --max-time 30 \
      --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
      --data-urlencode "next=/dashboard" "http://127.0.0.1:$PORT/login" || true)
    if [ "$code" != 429 ] || [ "$tries" -ge "$1" ]; then break; fi
    sleep 5
  done
  echo "$code after $tries attempt(s)"
}

cat >"$work/flood.lua" <<'LUA'
-- Wrong-password logins; with spoof = true each carries a new X-Forwarded-For address.
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  spoof = args[1] == "spoof"
  statuses = {}
  n = 0
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "email=bench%40example.org&password=wrong+guess&next=%2Fdashboard"
function request()
  if spoof then
    n = n + 1
    wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", id, math.floor(n / 256) % 256, n % 256)
  end
  return wrk.format(nil, "/login")
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do
      total[code] = (total[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(total) do table.insert(parts, code .. ": " .. count) end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("requests %d in %.1f s; statuses %s; socket errors connect %d read %d write %d timeout %d\n",
    summary.requests, summary.duration / 1e6, table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout))
  io.write(string.format("latency p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

echo "binary: $BIN"
echo "flood: $CONNS connections, ${DURATION}s per round, wrong passwords for $EMAIL"
echo "RSS before: $(mb "$(rss VmRSS)")"
worst=0
for round in one-network many-networks; do
  # One network: the right login must get through at the first attempt. Many networks (a
  # botnet's flood fills the hashing queue): it may be turned away with 429 and try again.
  arg="" tries=1
  [ "$round" = many-networks ] && arg="spoof" tries=5
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 30s -s "$work/flood.lua" \
    "http://127.0.0.1:$PORT/login" -- $arg >"$work/wrk-$round.txt" 2>&1 &
  wrk_pid=$!
  sleep $((DURATION / 3 + 1))
  started=$(date +%s.%N)
  login="$(right_login "$tries")"
  took=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  wait "$wrk_pid" || true
  hwm=$(rss VmHWM)
  [ "$hwm" -gt "$worst" ] && worst=$hwm
  echo "== $round"
  grep -E '^(requests|latency)' "$work/wrk-$round.txt" || cat "$work/wrk-$round.txt"
  echo "right login from 127.0.0.2 during the flood: $login (${took}s)"
  echo "RSS now $(mb "$(rss VmRSS)"), peak so far (VmHWM) $(mb "$hwm")"
  case "$login" in 303*) ;; *) failed_login=1 ;; esac
done
sleep 2
echo "RSS after the floods: $(mb "$(rss VmRSS)")"
status=0
if [ "$worst" -ge "$LIMIT_KB" ]; then
  echo "FAIL: peak RSS $(mb "$worst") is not under $(mb "$LIMIT_KB")"
  status=1
fi
if [ -n "${failed_login:-}" ]; then
  echo "FAIL: the right login did not get through"
  status=1
fi
[ "$status" = 0 ] && echo "OK: peak RSS $(mb "$worst") < $(mb "$LIMIT_KB"), right logins succeeded"
exit "$status"
