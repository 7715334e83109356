#!/usr/bin/env bash
# Compares layer benchmarks of two or more builds on a shared machine: runs each build's
# layer_bench in turn, REPS rounds, and prints the fastest time of each benchmark per build
# (the least disturbed run). Used to decide kernel changes; see docs/benchmarks.md.
#
#   bench/compare_builds.sh FILTER REPS BUILD_DIR...
#   bench/compare_builds.sh 'lenet5/conv6x16k5/backward/1/' 5 /tmp/before/build build
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 FILTER REPS BUILD_DIR..." >&2
  exit 2
fi
filter=$1
reps=$2
shift 2
for ((round = 0; round < reps; ++round)); do
  for dir in "$@"; do
    "$dir/bench/layer_bench" --benchmark_filter="$filter" --benchmark_min_time=0.1 2>/dev/null |
      awk -v build="$dir" '/real_time/ {print $1, build, $2}'
  done
done | awk '{key = $1 "  " $2; if (!(key in best) || $3 < best[key]) best[key] = $3}
            END {for (key in best) printf "%-50s %12.0f ns\n", key, best[key]}' | sort
