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
# Free disk, for the log: a cold run needs about 4.5 GB under target/.
df -h . | sed 's/^/    /'

say "cargo fmt --check"
cargo fmt --all -- --check

build_release

say "clippy (ssr)"
cargo clippy -p app -p firstline --all-targets --features app/ssr -- -D warnings
say "clippy (hydrate: wasm32 library, and all targets natively since test-only crates do not build for wasm)"
cargo clippy -p app -p frontend -p status-live --lib --target wasm32-unknown-unknown --features app/hydrate -- -D warnings
cargo clippy -p app -p frontend --all-targets --features app/hydrate -- -D warnings

say "Rust tests (SQLite and a throwaway PostgreSQL cluster)"
cargo test -p app -p firstline --features app/ssr

say "Playwright (desktop and phone, Debian's Chromium)"
(cd end2end && npx playwright test)

du -sh target | sed 's/^/    /'
say "All tests passed in $(( $(date +%s) - start )) s"
