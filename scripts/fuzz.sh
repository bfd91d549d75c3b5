#!/usr/bin/env bash
# Fuzzes Firstline's parsers of untrusted input (form bodies, Markdown sanitising,
# X-Forwarded-For, iCal generation from names) with cargo-fuzz / libFuzzer for a bounded time
# each, then prints per target: executions, seconds, crashes. Exits non-zero if any target
# crashed; the crashing input is in fuzz/artifacts/<target>/ (not committed).
#
#   scripts/fuzz.sh                  # every target, 60 s each
#   scripts/fuzz.sh 300              # every target, 300 s each
#   scripts/fuzz.sh 30 markdown      # one target
#   FUZZ_SECONDS=120 scripts/fuzz.sh
#   FUZZ_SANITIZER=none scripts/fuzz.sh   # faster build and runs, no AddressSanitizer
#
# Reproduce a crash: scripts/fuzz.sh builds, then
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/crash-...
# Not part of scripts/test.sh: the instrumented build takes a while.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-${FUZZ_SECONDS:-60}}"
shift $(($# > 0 ? 1 : 0))
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [seconds per target] [target...]" >&2
  exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(form_body markdown client_ip ical_names)
fi

# cargo-fuzz passes -Z flags (sanitizer, coverage); RUSTC_BOOTSTRAP lets the stable toolchain
# accept them. The fuzz crate has its own workspace and target dir (fuzz/target).
export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  nice -n 10 cargo install cargo-fuzz --locked --debug || exit 1
fi

# Release build with debug assertions and overflow checks (cargo-fuzz's default), 16 codegen
# units for a faster build.
flags=(--sanitizer "${FUZZ_SANITIZER:-address}" --codegen-units 16)

echo "== building fuzz targets (instrumented; the first build takes a while)"
nice -n 10 cargo fuzz build "${flags[@]}" || exit 1

mkdir -p fuzz/target/logs
summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="fuzz/target/logs/$t.log"
  echo "== fuzzing $t for ${seconds}s (log: $log)"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  start=$(date +%s)
  nice -n 10 cargo fuzz run "${flags[@]}" "$t" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  wall=$(($(date +%s) - start))
  after=$(ls "fuzz/artifacts/$t" | wc -l)
  crashes=$((after - before))
  # libFuzzer's closing line: "Done 123456 runs in 60 second(s)"; after a crash there is none,
  # and the final stats (stat::number_of_executed_units) give the count instead.
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second(s).*/\1/p' "$log" | tail -1)
  secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second(s).*/\2/p' "$log" | tail -1)
  if [ -z "$runs" ]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  fi
  : "${runs:=?}" "${secs:=$wall}"
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # died without writing an artifact (e.g. a build or start-up failure): see the log
  fi
  if [ "$crashes" -gt 0 ]; then
    failed=1
    grep -m1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" "$log" | sed 's/^/   /'
    grep -E "Test unit written to" "$log" | sed 's/^/   /'
  fi
  summary+=("$(printf '%-12s %12s %8s %8s' "$t" "$runs" "$secs" "$crashes")")
done

echo
printf '%-12s %12s %8s %8s\n' target executions seconds crashes
printf '%s\n' "${summary[@]}"
exit "$failed"
