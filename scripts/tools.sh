#!/usr/bin/env bash
# Installs what Firstline's build and tests need, skipping whatever is already there:
# the wasm target, cargo-leptos, wasm-bindgen-cli (the version in Cargo.lock), npm tools
# (wasm-opt from binaryen, Playwright, axe-core), Debian's Chromium and PostgreSQL server, and
# the real senders the compatibility tests drive (Debian's Prometheus Alertmanager; the PagerDuty
# client libraries pdpyras and pagerduty from PyPI, in a virtual environment).
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
CARGO_LEPTOS_VERSION="0.3.5"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

ensure_system_packages() {
  local missing=()
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v cc >/dev/null || missing+=(build-essential)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installing Debian packages: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

ensure_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  # Build tools are installed unoptimised (--debug, no debug info): they only drive the build,
  # and this halves the one-time install on a fresh 2-core machine (cargo-leptos: about 5 min
  # instead of 12-15).
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 5 minutes on 2 cores, once)"
    CARGO_PROFILE_DEV_DEBUG=0 cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --debug
  fi
  local wb
  wb="$(grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb\$"; then
    say "Installing wasm-bindgen-cli $wb (matches Cargo.lock)"
    CARGO_PROFILE_DEV_DEBUG=0 cargo install wasm-bindgen-cli --version "$wb" --force --debug
  fi
}

ensure_npm_tools() {
  if [ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" ] || [ ! -x "$ROOT/end2end/node_modules/.bin/playwright" ] \
     || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
    say "Installing npm tools (binaryen's wasm-opt, Playwright, axe-core)"
    (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
  fi
}

# Pinned client versions for server/tests/it/compat.rs (which finds the venv at this path, or
# at FIRSTLINE_COMPAT_PYTHON).
PDPYRAS_VERSION="5.4.1"
PAGERDUTY_VERSION="7.2.0"
COMPAT_VENV="${FIRSTLINE_COMPAT_VENV:-$HOME/.cache/firstline/compat-venv}"

ensure_compat_tools() {
  local missing=()
  [ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installing Debian packages for the compatibility tests: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
  if ! "$COMPAT_VENV/bin/python" - "$PDPYRAS_VERSION" "$PAGERDUTY_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(0 if (version("pdpyras"), version("pagerduty")) == tuple(sys.argv[1:3]) else 1)
PY
  then
    say "Installing pdpyras $PDPYRAS_VERSION and pagerduty $PAGERDUTY_VERSION into $COMPAT_VENV"
    python3 -m venv "$COMPAT_VENV"
    "$COMPAT_VENV/bin/pip" install -q "pdpyras==$PDPYRAS_VERSION" "pagerduty==$PAGERDUTY_VERSION"
  fi
}

ensure_tools() {
  ensure_system_packages
  ensure_rust_tools
  ensure_npm_tools
  ensure_compat_tools
}

# Builds the release binary with the islands' wasm and the status page's live module embedded.
build_live() {
  say "Building the status page's live module (frontend/live)"
  (cd "$ROOT" \
    && cargo build -p status-live --lib --target wasm32-unknown-unknown --profile wasm-release \
    && mkdir -p target/live \
    && wasm-bindgen --target web --no-typescript --out-dir target/live.new \
         target/wasm32-unknown-unknown/wasm-release/status_live.wasm \
    && wasm-opt -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-sign-ext \
         --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
         --enable-multivalue target/live.new/status_live_bg.wasm -o target/live.new/status_live_bg.wasm \
    && for f in status_live.js status_live_bg.wasm; do
         # Only replace changed files, so the server is not rebuilt for nothing.
         cmp -s "target/live.new/$f" "target/live/$f" || cp "target/live.new/$f" "target/live/$f"
       done \
    && rm -rf target/live.new)
}

# Runs a command as the postgres user when root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# For the benchmarks: a throwaway PostgreSQL cluster under "$work/pg" on port $PG_PORT with
# default durability, and the databases named as arguments. Sets pgbin and pg_pid (the caller
# stops it with pg_ctl).
start_postgres() {
  pgbin="$(pg_config --bindir 2>/dev/null || true)"
  [ -x "$pgbin/initdb" ] || pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  mkdir -p "$work/pg"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg"
  as_pg "$pgbin/initdb" -A trust -U postgres -E UTF8 -D "$work/pg/data" >/dev/null
  # Default durability: fsync on, synchronous_commit on, full_page_writes on.
  as_pg "$pgbin/postgres" -D "$work/pg/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
    -k "$work/pg" -c max_connections=100 >"$work/pg.log" 2>&1 &
  pg_pid=$!
  for _ in $(seq 100); do
    psql -qAt -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  local db
  for db in "$@"; do
    psql -qAt -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE $db" >/dev/null
  done
}

build_release() {
  build_live
  say "Building Firstline (release)"
  (cd "$ROOT" && cargo leptos build --release)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_tools
fi
