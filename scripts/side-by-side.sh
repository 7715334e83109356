#!/usr/bin/env bash
# Two builds of `cnn` side by side, on a machine other programs share: the training time of
#   alone-T2  one run alone, --threads 2;
#   pair-T2   two runs at once, --threads 2 each (each run's own time is recorded);
#   pair-T1   two runs at once, --threads 1 each;
# the two binaries taking turns (A B A B ...) in every setting and round, so that a change in the
# load from elsewhere falls on both alike. The machine is not quiet: read the spread, not one
# number.
#
# usage: scripts/side-by-side.sh CNN_A CNN_B [ROUNDS]     (ROUNDS: default 3)
# environment: DATA (data/mnist), PRESET (lenet5), BATCH (64), EPOCHS (1), LR (0.05),
#              SETTINGS ("alone-T2 pair-T2 pair-T1")
# example: scripts/side-by-side.sh /tmp/threads-before/build/cnn build/cnn 3
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 CNN_A CNN_B [ROUNDS]" >&2
  exit 2
fi
cnn_a=$1
cnn_b=$2
rounds=${3:-3}
for binary in "$cnn_a" "$cnn_b"; do
  if [[ ! -x $binary ]]; then
    echo "$0: $binary: not an executable (expected a built cnn program)" >&2
    exit 2
  fi
done
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: ROUNDS: expected a whole number >= 1, got '$rounds'" >&2
  exit 2
fi
data=${DATA:-data/mnist}
if [[ ! -f $data/train-images-idx3-ubyte ]]; then
  echo "$0: DATA=$data: no MNIST files there (scripts/fetch-mnist.sh fetches them)" >&2
  exit 2
fi
preset=${PRESET:-lenet5}
batch=${BATCH:-64}
epochs=${EPOCHS:-1}
lr=${LR:-0.05}
settings=${SETTINGS:-alone-T2 pair-T2 pair-T1}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
results=$scratch/results  # lines: setting label seconds

# Starts one run in the background; its output goes to $scratch/<name>.log.
start_run() {  # binary threads name
  "$1" train --data "$data" --preset "$preset" --batch "$batch" --epochs "$epochs" --lr "$lr" \
    --threads "$2" --quiet --out "$scratch/$3.out" >"$scratch/$3.log" 2>&1 &
}

# The training time the run printed ("training time 3.312 s (18115 images/s)").
training_seconds() {  # name
  local seconds
  seconds=$(awk '/^training time/ {print $3}' "$scratch/$1.log")
  if [[ -z $seconds ]]; then
    echo "$0: run $1 printed no training time; its output:" >&2
    cat "$scratch/$1.log" >&2
    exit 1
  fi
  echo "$seconds"
}

measure() {  # setting label binary
  local setting=$1 label=$2 binary=$3 threads runs name seconds
  threads=${setting##*-T}
  case $setting in
    alone-*) runs=1 ;;
    pair-*) runs=2 ;;
    *)
      echo "$0: SETTINGS: unknown setting '$setting' (alone-T<n> or pair-T<n>)" >&2
      exit 2
      ;;
  esac
  for ((run = 0; run < runs; ++run)); do start_run "$binary" "$threads" "$label-$run"; done
  wait
  local times=""
  for ((run = 0; run < runs; ++run)); do
    name=$label-$run
    seconds=$(training_seconds "$name")
    echo "$setting $label $seconds" >>"$results"
    times="$times $seconds"
    rm -rf "$scratch/$name.out"
  done
  echo "round $round $setting $label:$times s"
}

echo "A = $cnn_a"
echo "B = $cnn_b"
echo "$preset, batch $batch, $epochs epoch(s), lr $lr, $rounds rounds, $(nproc) CPUs;" \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= rounds; ++round)); do
  for setting in $settings; do
    measure "$setting" A "$cnn_a"
    measure "$setting" B "$cnn_b"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# Per setting and binary: every time measured, and their median, least and most.
printf '%-9s %-2s %-7s %-7s %-7s %s\n' setting bin median min max "all (s)"
for setting in $settings; do
  for label in A B; do
    awk -v s="$setting" -v l="$label" '$1 == s && $2 == l {print $3}' "$results" | sort -g |
      awk -v s="$setting" -v l="$label" '
        {v[NR] = $1; all = all (NR > 1 ? " " : "") $1}
        END {
          median = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%-9s %-2s %-7.2f %-7.2f %-7.2f %s\n", s, l, median, v[1], v[NR], all
        }'
  done
done
