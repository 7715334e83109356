#!/usr/bin/env bash
# Data-parallel training on one machine (docs/scale-out.md): the training throughput of
#   one-T2   one process, --threads 2 (started plainly);
#   np1-T2   mpirun -np 1, --threads 2 (the MPI build's own overhead with nobody to talk to);
#   np2-T1   mpirun -np 2, --threads 1 each (each rank bound to a core, Open MPI's default);
# for each preset, the settings taking turns in every round so that a change in the load from
# elsewhere falls on all alike. For -np 2 it also prints the share of rank 0's training time spent
# summing gradients and agreeing on decisions (cnn train's "rank 0 spent ... s" line).
#
# usage: bench/data_parallel.sh CNN [ROUNDS]     (ROUNDS: default 2)
# environment: DATA (data/mnist), PRESETS ("seed lenet5 best"), BATCH (64),
#              ITERATIONS ("seed:600 lenet5:300 best:40"), LR (0.05)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 CNN [ROUNDS]" >&2
  exit 2
fi
cnn=$1
rounds=${2:-2}
if [[ ! -x $cnn ]]; then
  echo "$0: $cnn: not an executable (expected a built cnn program)" >&2
  exit 2
fi
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: ROUNDS: expected a whole number >= 1, got '$rounds'" >&2
  exit 2
fi
data=${DATA:-data/mnist}
if [[ ! -f $data/train-images-idx3-ubyte ]]; then
  echo "$0: DATA=$data: no MNIST files there (scripts/fetch-mnist.sh fetches them)" >&2
  exit 2
fi
command -v mpirun > /dev/null || { echo "$0: mpirun not found (apt-get install openmpi-bin)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
presets=${PRESETS:-seed lenet5 best}
batch=${BATCH:-64}
lr=${LR:-0.05}
iterations_for() {
  local entry
  for entry in ${ITERATIONS:-seed:600 lenet5:300 best:40}; do
    [[ ${entry%%:*} == "$1" ]] && { echo "${entry#*:}"; return; }
  done
  echo 300
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Prints "images/s communication-seconds training-seconds" of one run.
run() {
  local setting=$1 preset=$2 iterations=$3 out="$scratch/run-$RANDOM$RANDOM"
  local args=(train --data "$data" --preset "$preset" --batch "$batch" --iterations "$iterations"
              --lr "$lr" --val 0 --quiet --out "$out")
  local text
  case $setting in
    one-T2) text=$("$cnn" "${args[@]}" --threads 2) ;;
    np1-T2) text=$(timeout 600 mpirun -np 1 --bind-to none "$cnn" "${args[@]}" --threads 2 < /dev/null) ;;
    np2-T1) text=$(timeout 600 mpirun -np 2 "$cnn" "${args[@]}" --threads 1 < /dev/null) ;;
  esac
  rm -rf "$out"
  local speed seconds communication
  speed=$(sed -n 's/^training time \([0-9.]*\) s (\([0-9]*\) images\/s)$/\2/p' <<< "$text")
  seconds=$(sed -n 's/^training time \([0-9.]*\) s .*/\1/p' <<< "$text")
  communication=$(sed -n 's/.*rank 0 spent \([0-9.]*\) s .*/\1/p' <<< "$text")
  echo "$speed ${communication:-0} $seconds"
}

printf '%-7s %-7s %6s  %s\n' preset setting median "images/s of every round (communication share of rank 0's time)"
for preset in $presets; do
  iterations=$(iterations_for "$preset")
  declare -A speeds=() notes=()
  for ((round = 1; round <= rounds; ++round)); do
    for setting in one-T2 np1-T2 np2-T1; do
      read -r speed communication seconds < <(run "$setting" "$preset" "$iterations")
      speeds[$setting]+="$speed "
      if [[ $setting == np2-T1 ]]; then
        notes[$setting]+="$speed ($(awk -v c="$communication" -v s="$seconds" 'BEGIN { printf "%.0f%%", 100 * c / s }')) "
      else
        notes[$setting]+="$speed "
      fi
    done
  done
  for setting in one-T2 np1-T2 np2-T1; do
    median=$(tr ' ' '\n' <<< "${speeds[$setting]}" | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    printf '%-7s %-7s %6s  %s\n' "$preset" "$setting" "$median" "${notes[$setting]}"
  done
  unset speeds notes
done
