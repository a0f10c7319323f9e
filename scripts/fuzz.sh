#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 25) on the stable toolchain
# (RUSTC_BOOTSTRAP=1: libFuzzer and AddressSanitizer need unstable flags), installing
# cargo-fuzz when missing. Prints runs executed, executions per second and crashes found per
# target, exits 1 on any crash.
#   scripts/fuzz.sh            # 25 s per target, optimized build with AddressSanitizer
#   scripts/fuzz.sh 3600       # an hour per target
#   FUZZ_TARGETS="redirect tokens" scripts/fuzz.sh 600
#   FUZZ_BUILD=smoke scripts/fuzz.sh 15   # what .ci/run does
# FUZZ_BUILD=full (default) builds optimized (opt-level 3, debug assertions, 16 codegen units)
# with AddressSanitizer: the build for long runs, and the one whose cold build is slow (about
# 330 crates instrumented and optimized; README "Fuzzing"). FUZZ_BUILD=smoke builds the dev
# profile without a sanitizer (coverage instrumentation only; Rampart forbids unsafe code, so
# ASan mostly watches dependencies): a cold build costs about as much as a debug build, and
# each target runs about ten times slower, which a smoke run can afford.
# Every run also replays fuzz/regressions/TARGET/ (inputs that once crashed, committed) and
# the committed seeds in fuzz/corpus/TARGET/. Crashing inputs land in fuzz/artifacts/TARGET/;
# replay one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz TARGET fuzz/artifacts/TARGET/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-25}
export RUSTC_BOOTSTRAP=1
case ${FUZZ_BUILD:-full} in
  full)
    target_dir=${CARGO_TARGET_DIR:-/var/tmp/rampart-target}-fuzz-crate
    build_flags=(--release --debug-assertions --codegen-units 16 --target-dir "$target_dir") ;;
  smoke)
    target_dir=${CARGO_TARGET_DIR:-/var/tmp/rampart-target}-fuzz-smoke
    build_flags=(--dev --sanitizer none --target-dir "$target_dir") ;;
  *) echo "FUZZ_BUILD is full or smoke, not ${FUZZ_BUILD}" >&2; exit 2 ;;
esac

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (cargo install --locked)"
  cargo install --locked cargo-fuzz
fi

targets=${FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^rampart-fuzz$')}
start=$(date +%s)
# The fuzz crate's own Cargo.lock (same versions as the workspace's) must be up to date.
if ! cargo fetch --locked --manifest-path fuzz/Cargo.toml; then
  echo "fuzz/Cargo.lock is stale: cp Cargo.lock fuzz/Cargo.lock && cargo metadata --manifest-path fuzz/Cargo.toml >/dev/null" >&2
  exit 1
fi
build_log=$(mktemp)
if ! cargo fuzz build "${build_flags[@]}" --fuzz-dir fuzz >"$build_log" 2>&1; then
  grep -vE '^\s+(Compiling|Checking)' "$build_log" | tail -40 >&2
  echo "fuzz build failed" >&2
  exit 1
fi
rm -f "$build_log"
echo "== fuzz crate built (FUZZ_BUILD=${FUZZ_BUILD:-full}) in $(( $(date +%s) - start )) s"

failed=0
total_execs=0
total_crashes=0
for t in $targets; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/regressions/$t"
  log=$(mktemp)
  stamp=$(mktemp)
  set +e
  # The first directory collects what the run finds; the regressions are only read.
  cargo fuzz run "${build_flags[@]}" --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "fuzz/regressions/$t" -- \
    -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  execs=${execs:-0}
  total_execs=$(( total_execs + execs ))
  # Crashes of this run only (older artifacts stay until someone turns them into regressions).
  crashes=$(find "fuzz/artifacts/$t" -type f -newer "$stamp" | wc -l)
  total_crashes=$(( total_crashes + crashes ))
  rm -f "$stamp"
  printf '%-16s %12s runs executed in %ss (%s/s), %s crashes found, %s regression inputs replayed, exit %s\n' \
    "$t" "$execs" "$secs" "${speed:-0}" "$crashes" "$(find "fuzz/regressions/$t" -type f | wc -l)" "$rc"
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    failed=1
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 >&2
  fi
  rm -f "$log"
done
echo "== fuzzing: $(echo "$targets" | wc -w) targets, $total_execs runs executed, $total_crashes crashes found, $(( $(date +%s) - start )) s in all (build included), failed: $failed"
exit "$failed"
