#!/usr/bin/env bash
# Trains the design's network with the design's recipe (batch 4, 2000 iterations, lr 0.01,
# momentum 0.9, decay 1e-5) for seeds 1, 2 and 3, then prints each test accuracy and their mean
# next to the design's own figure (0.9282).
# Usage: scripts/train-design.sh [path/to/cnn] [data folder] [extra flags for cnn train...]
set -euo pipefail
cnn=${1:-build/cnn}
data=${2:-data/mnist}
shift $(( $# < 2 ? $# : 2 ))

accuracies=()
for seed in 1 2 3; do
  echo "== design recipe, seed $seed"
  log=$("$cnn" train --data "$data" --preset seed --batch 4 --iterations 2000 --lr 0.01 \
    --momentum 0.9 --decay 1e-5 --seed "$seed" --threads 1 "$@" | tee /dev/stderr)
  accuracies+=("$(awk '/^test accuracy/ {print $3}' <<<"$log")")
done 2>&1
mean=$(printf '%s\n' "${accuracies[@]}" | awk '{ s += $1 } END { printf "%.4f", s / NR }')
echo "design recipe, seeds 1 2 3: test accuracy ${accuracies[*]}; mean $mean (the design reports 0.9282)"
