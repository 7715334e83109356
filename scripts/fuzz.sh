#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR/fuzz for SECONDS each, one after the other, one
# process each (the machine is shared). Each starts from its checked-in seed corpus
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

mkdir -p "$build_dir/fuzz-artifacts"
for target in "${targets[@]}"; do
  binary="$build_dir/fuzz/${target}_fuzzer"
  seeds="fuzz/corpus/$target"
  scratch="$build_dir/fuzz-corpus/$target"
  [ -x "$binary" ] || { echo "fuzz: no target $binary" >&2; exit 1; }
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 1; }
  mkdir -p "$scratch"
  echo "fuzz: $target for ${seconds} s"
  # -timeout: one input taking longer than this is a hang; -rss_limit_mb: more than 2 GB is an
  # out-of-memory bug for files this small.
  log="$build_dir/fuzz-logs/$target.log"
  mkdir -p "$(dirname "$log")"
  set +e
  "$binary" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build_dir/fuzz-artifacts/$target-" "$scratch" "$seeds" >"$log" 2>&1
  status=$?
  set -e
  # The last status line (execs, coverage, corpus) and the final statistics, or the crash report.
  if [ "$status" -eq 0 ]; then
    grep -E '^#[0-9]+' "$log" | tail -n 1
    grep -E '^stat::' "$log"
  else
    tail -n 60 "$log"
  fi
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target failed (status $status); see $build_dir/fuzz-artifacts/" >&2
    exit 1
  fi
done
echo "fuzz: ${#targets[@]} target(s), ${seconds} s each, no crash"
