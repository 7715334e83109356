#!/usr/bin/env bash
# The learning rate for a larger global batch (README, "Several processes and machines"): LeNet-5
# for 2 epochs on one process at batch 64 (the reference) and at batches 256 and 1024 with the
# rate kept, scaled linearly with the batch, scaled by its square root, each with the default
# time schedule and with onecycle (a warm-up over the first quarter). One process stands for
# any: a data-parallel run at the same global batch trains the same model up to float sums.
#
# usage: bench/lr_scaling.sh CNN [SEEDS]     (SEEDS: default "1 2")
# environment: DATA (data/mnist), THREADS (2)
set -euo pipefail
if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 CNN [SEEDS]" >&2
  exit 2
fi
cnn=$1
seeds=${2:-1 2}
data=${DATA:-data/mnist}
if [[ ! -x $cnn ]]; then
  echo "$0: $cnn: not an executable (expected a built cnn program)" >&2
  exit 2
fi
if [[ ! -f $data/train-images-idx3-ubyte ]]; then
  echo "$0: DATA=$data: no MNIST files there (scripts/fetch-mnist.sh fetches them)" >&2
  exit 2
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf '%-6s %-6s %-9s %s\n' batch lr schedule "test accuracy per seed ($seeds)"
for config in "64 0.05" "256 0.05" "256 0.1" "256 0.2" "1024 0.05" "1024 0.2" "1024 0.8"; do
  read -r batch lr <<< "$config"
  for schedule in time onecycle; do
    [[ $batch == 64 && $schedule == onecycle ]] && continue
    accuracies=""
    for seed in $seeds; do
      accuracy=$("$cnn" train --data "$data" --preset lenet5 --batch "$batch" --lr "$lr" \
        --schedule "$schedule" --epochs 2 --seed "$seed" --threads "${THREADS:-2}" --quiet \
        --out "$scratch/run-$batch-$lr-$schedule-$seed" |
        sed -n 's/^test accuracy \([0-9.]*\) .*/\1/p')
      accuracies+="$accuracy "
    done
    printf '%-6s %-6s %-9s %s\n' "$batch" "$lr" "$schedule" "$accuracies"
  done
done
