#!/usr/bin/env bash
# Writes a model file and a checkpoint for each preset, each with its own optimizer and recipe,
# with a fixed seed and one thread, so that two builds can be compared file by file
# (scripts/compare-safetensors.py): a change that must not alter results leaves them identical.
#   scripts/reference-files.sh path/to/cnn OUT_DIR [data folder]
set -euo pipefail
cnn=$1
out=$2
data=${3:-data/mnist}
mkdir -p "$out"
common=(--data "$data" --batch 32 --iterations 120 --seed 5 --threads 1 --quiet --val 1000
        --checkpoint-every 100)
run() {  # run NAME FLAGS...
  local name=$1
  shift
  "$cnn" train "${common[@]}" "$@" --out "$out/run-$name" --save "$out/$name.safetensors" \
    --checkpoint "$out/$name-checkpoint.safetensors" >"$out/$name.log"
  echo "$name: $(grep '^test accuracy' "$out/$name.log")"
}
run seed --preset seed --lr 0.01 --momentum 0.9 --decay 1e-5
run lenet5 --preset lenet5 --optimizer nesterov --lr 0.02 --weight-decay 5e-4 --schedule step \
  --step-epochs 0.02 --gamma 0.5
run fast --preset fast --optimizer adam --lr 0.003 --schedule onecycle --translate 2 --rotate 10 \
  --scale 0.1
run best --preset best --optimizer adamw --lr 0.002 --weight-decay 1e-4 --schedule cosine \
  --elastic 20 --elastic-sigma 4
