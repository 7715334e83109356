#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR/fuzz for SECONDS each, one process each, FUZZ_JOBS
# of them at a time (default 1: the machine is shared; `make fuzz-smoke` runs one per core, as CI
# has the machine to itself). Each starts from its checked-in seed corpus
# fuzz/corpus/<target>/ (read only) plus a scratch corpus in BUILD_DIR/fuzz-corpus/<target>/
# where it keeps the new inputs it finds; its output goes to BUILD_DIR/fuzz-logs/<target>.log.
# A crash, timeout or out-of-memory stops the script with a non-zero status; the input is saved
# as BUILD_DIR/fuzz-artifacts/<target>-crash-... .
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#
# FUZZ_TIMEOUT (default 10) is the wall-clock seconds one input may take before it counts as a
# hang. On a busy shared machine a process can be starved of CPU for longer than that (a niced
# fuzzer once waited 74 s on an input that runs in milliseconds), so long runs there use more.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for binary in "$build_dir"/fuzz/*_fuzzer; do
    name=$(basename "$binary")
    targets+=("${name%_fuzzer}")
  done
fi

# fuzzer TARGET: the path of its libFuzzer binary.
fuzzer() { echo "$build_dir/fuzz/$1_fuzzer"; }

jobs=${FUZZ_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_JOBS must be a positive integer, got '$jobs'" >&2; exit 1; }
mkdir -p "$build_dir/fuzz-artifacts" "$build_dir/fuzz-logs"
for target in "${targets[@]}"; do
  [ -x "$(fuzzer "$target")" ] || { echo "fuzz: no target $(fuzzer "$target")" >&2; exit 1; }
  [ -d "fuzz/corpus/$target" ] || { echo "fuzz: no seed corpus fuzz/corpus/$target" >&2; exit 1; }
done

# fuzz_one TARGET: fuzzes it; its exit status is the fuzzer's.
fuzz_one() {
  local target=$1
  local scratch="$build_dir/fuzz-corpus/$target"
  mkdir -p "$scratch"
  # -timeout: one input taking longer than this is a hang; -rss_limit_mb: more than 2 GB is an
  # out-of-memory bug for files this small.
  "$(fuzzer "$target")" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build_dir/fuzz-artifacts/$target-" \
    "$scratch" "fuzz/corpus/$target" >"$build_dir/fuzz-logs/$target.log" 2>&1
}

# report TARGET STATUS: the last status line (execs, coverage, corpus) and the final statistics,
# or the crash report.
report() {
  local log="$build_dir/fuzz-logs/$1.log"
  if [ "$2" -eq 0 ]; then
    echo "fuzz: $1 for ${seconds} s: no crash"
    grep -E '^#[0-9]+' "$log" | tail -n 1
    grep -E '^stat::' "$log"
  else
    tail -n 60 "$log"
    echo "fuzz: $1 failed (status $2); see $build_dir/fuzz-artifacts/" >&2
  fi
}

declare -A running=()  # pid -> target
failed=0
# wait_one: waits for one of the running fuzzers and reports it.
wait_one() {
  local pid status=0
  wait -n -p pid "${!running[@]}" || status=$?
  report "${running[$pid]}" "$status"
  unset "running[$pid]"
  [ "$status" -eq 0 ] || failed=1
}

for target in "${targets[@]}"; do
  while [ ${#running[@]} -ge "$jobs" ]; do wait_one; done
  [ $failed -eq 0 ] || break
  echo "fuzz: $target started"
  fuzz_one "$target" &
  running[$!]=$target
done
while [ ${#running[@]} -gt 0 ]; do wait_one; done
if [ $failed -ne 0 ]; then
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), ${seconds} s each, no crash"
