#!/usr/bin/env bash
# Installs what is missing, then runs the whole suite: formatting, clippy (-D warnings) for the
# ssr and hydrate builds, Rust unit and integration tests on SQLite and PostgreSQL, and the
# Playwright end-to-end tests in Debian's Chromium against the release server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
ensure_tools
cd "$ROOT"
# No incremental caches: CI builds once from a clean checkout, and they would double the disk.
export CARGO_INCREMENTAL=0
start=$(date +%s)
df -h . | sed 's/^/    /'
# A cold run keeps about 4.5 GB under target/. Where the disk is tighter than 12 GB (or with
# FIRSTLINE_LEAN_BUILD=1), each stage's intermediate artifacts are removed once no later stage
# needs them: the peak stays near 2 GB, at the cost of the next run rebuilding from scratch.
lean=""
if [ "${FIRSTLINE_LEAN_BUILD:-}" = 1 ] || [ "$(df -Pk . | awk 'NR == 2 { print $4 }')" -lt $((12 * 1024 * 1024)) ]; then
  lean=1
  say "Lean build: intermediate artifacts are removed between stages"
fi
prune() {
  if [ -n "$lean" ]; then
    rm -rf "$@"
    du -sh target | sed 's/^/    target\/ now: /'
  fi
}

say "cargo fmt --check"
cargo fmt --all -- --check

build_release
# Playwright needs only the release binary (its assets are embedded).
prune target/release/deps target/release/build target/release/.fingerprint target/release/incremental \
  target/front target/wasm-release target/wasm32-unknown-unknown

say "clippy (ssr)"
cargo clippy -p app -p firstline --all-targets --features app/ssr -- -D warnings
say "clippy (hydrate: wasm32 library, and all targets natively since test-only crates do not build for wasm)"
cargo clippy -p app -p frontend -p status-live --lib --target wasm32-unknown-unknown --features app/hydrate -- -D warnings
cargo clippy -p app -p frontend --all-targets --features app/hydrate -- -D warnings
# The tests build (not check) everything again.
prune target/debug target/wasm32-unknown-unknown

say "Rust tests (SQLite and a throwaway PostgreSQL cluster)"
cargo test -p app -p firstline --features app/ssr

say "Playwright (desktop and phone, Debian's Chromium)"
(cd end2end && npx playwright test)

du -sh target | sed 's/^/    /'
say "All tests passed in $(( $(date +%s) - start )) s"
