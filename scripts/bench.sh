#!/usr/bin/env bash
# Benchmarks (criterion): expanding one year of a schedule with 3 layers, 10 people and
# 200 overrides. Prints criterion's estimate; run on an otherwise idle machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
cd "$ROOT"
cargo bench -p app --bench schedule -- --warm-up-time 1 --measurement-time 5 "$@"
