#!/usr/bin/env bash
# Escalation benchmark (server/examples/bench_escalation.rs, release): an in-process server
# whose notifier records the wall time of each page, on a temp SQLite file and on a throwaway
# PostgreSQL cluster with its default durability (fsync on, synchronous_commit=on).
# 1. Latency: triggers at a steady RATE/s for SECONDS, each to a fresh service (a new incident
#    paging step 1): notifier call time minus the 202's arrival (and minus the request's send).
# 2. Throughput: N open incidents all due at once: time until every step-1 page is queued
#    (the engine's rounds) and until every page reached the notifier.
# Usage: scripts/bench-escalation.sh [RATE, default 200] [SECONDS, default 20] [N, default 10000]
#        [backends, default "sqlite postgres"]
# FIRSTLINE_EXAMPLES=dir uses a prebuilt bench_escalation instead of building it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
RATE="${1:-200}"
SECONDS_="${2:-20}"
N="${3:-10000}"
BACKENDS="${4:-sqlite postgres}"
PG_PORT="${BENCH_ESCALATION_PG_PORT:-3923}"
target="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -n "${FIRSTLINE_EXAMPLES:-}" ]; then
  examples="$FIRSTLINE_EXAMPLES"
else
  say "Building the benchmark (release)"
  (cd "$ROOT" && cargo build -q --release -p firstline --example bench_escalation)
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


say "Escalation: $RATE triggers/s for ${SECONDS_}s (latency), $N incidents due at once (throughput)"
for b in $BACKENDS; do
  case "$b" in
    sqlite) url="sqlite://$work/bench.db" ;;
    postgres) start_postgres bench; url="postgres://postgres@127.0.0.1:$PG_PORT/bench" ;;
    *) echo "unknown backend $b" >&2; exit 2 ;;
  esac
  echo "$b"
  RUST_LOG="${RUST_LOG:-warn}" "$examples/bench_escalation" "$url" "$RATE" "$SECONDS_" "$N"
done
