#!/usr/bin/env bash
# Installs what is missing, builds Firstline, and serves the demo (crates.io story) on the
# embedded SQLite default at http://127.0.0.1:3000. The admin login is printed on first start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
ensure_tools
build_release
say "Starting the demo on ${FIRSTLINE_LISTEN:-127.0.0.1:3000} (database: ./firstline.db)"
cd "$ROOT"
exec "$ROOT/target/release/firstline" demo "$@"
