#!/usr/bin/env bash
# Web Push benchmark (server/examples/bench_push.rs, release): an in-process server with the real
# push channel (RFC 8291 encryption, VAPID, the outbound policy) sending to a local fake push
# service, on a temp SQLite file and on a throwaway PostgreSQL cluster (default durability).
# 1. Latency: RATE alerts/s for SECONDS, each paging a person of their own (one push device
#    each): the push request's arrival at the push service minus the alert's 202.
# 2. Storm: STORM alerts to one person: how many push messages they get (rate limit, bundles).
# Usage: scripts/bench-push.sh [RATE, default 200] [SECONDS, default 20] [STORM, default 500]
#        [backends, default "sqlite postgres"]
# FIRSTLINE_EXAMPLES=dir uses a prebuilt bench_push instead of building it;
# BENCH_PUSH_NOTIFIER=recording measures the engine alone (no push channel).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
RATE="${1:-200}"
SECONDS_="${2:-20}"
STORM="${3:-500}"
BACKENDS="${4:-sqlite postgres}"
PG_PORT="${BENCH_PUSH_PG_PORT:-3924}"
target="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -n "${FIRSTLINE_EXAMPLES:-}" ]; then
  examples="$FIRSTLINE_EXAMPLES"
else
  say "Building the benchmark (release)"
  (cd "$ROOT" && cargo build -q --release -p firstline --example bench_push)
  examples="$target/release/examples"
fi

work="$(mktemp -d)"
chmod 755 "$work"
cleanup() {
  # Through pg_ctl: the postmaster may run under runuser, which does not pass signals on.
  [ -n "${pg_pid:-}" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

say "Web Push: $RATE alerts/s for ${SECONDS_}s, one person each (latency); $STORM alerts to one person (storm)"
for b in $BACKENDS; do
  case "$b" in
    sqlite) url="sqlite://$work/bench.db" ;;
    postgres) start_postgres bench; url="postgres://postgres@127.0.0.1:$PG_PORT/bench" ;;
    *) echo "unknown backend $b" >&2; exit 2 ;;
  esac
  echo "$b"
  RUST_LOG="${RUST_LOG:-warn}" "$examples/bench_push" "$url" "$RATE" "$SECONDS_" "$STORM"
done
