#!/usr/bin/env bash
# Screenshots of the main pages on a desktop and a phone into docs/screenshots/: starts the demo
# on a temporary SQLite database, drives Debian's Chromium through end2end/screenshots.mjs, stops.
# FIRSTLINE_BIN picks the binary (default target/release/firstline), SCREENSHOT_PORT the port.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FIRSTLINE_BIN:-$ROOT/target/release/firstline}"
PORT="${SCREENSHOT_PORT:-3199}"
export FIRSTLINE_DEMO_PASSWORD="${FIRSTLINE_DEMO_PASSWORD:-e2e demo password}"
[ -x "$BIN" ] || { echo "no binary at $BIN (build it, or set FIRSTLINE_BIN)" >&2; exit 1; }
[ -d "$ROOT/end2end/node_modules/playwright" ] || { echo "run npm ci in end2end first" >&2; exit 1; }

dir="$(mktemp -d)"
FIRSTLINE_DATABASE_URL="sqlite://$dir/screenshots.db" FIRSTLINE_LISTEN="127.0.0.1:$PORT" \
  RUST_LOG=warn "$BIN" demo >"$dir/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  sleep 0.5
done
cd "$ROOT/end2end"
SCREENSHOT_BASE="http://127.0.0.1:$PORT" node screenshots.mjs
