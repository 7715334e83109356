#!/usr/bin/env bash
# The data-format acceptance runs: the same training recipe on the same Fashion-MNIST images read
# from three formats, IDX files, image folders (PNG) and CSV, for seeds 1, 2 and 3; prints each
# run's test accuracy (the "test accuracy" line of cnn train) in a table of format x seed with
# the mean per format and each format's difference from IDX. The three hold the same 60,000
# training and 9,946 test images, so the means should agree within the seeds' spread (the image
# order, and so each seed's shuffle, differs: folders list class by class, in sorted class-name
# order). Also prints the wall time of each run (data loading included; with a decoded-image
# cache, image folders are decoded in the first run and read from the cache after).
#
# usage: bench/data_sources.sh CNN
#   CNN: the built cnn program (build/cnn)
# environment:
#   IDX (data/fashion), FOLDERS (data/fashion-png), CSV (data/fashion-csv): the data; make all
#     three with scripts/fetch-fashion-mnist.sh data/fashion --folders data/fashion-png
#     --csv data/fashion-csv
#   FORMATS ("idx folders csv"): which to run; SEEDS ("1 2 3");
#   RECIPE ("--preset lenet5 --epochs 2 --batch 64 --lr 0.05"): the training flags, about 15 s of
#     training a run on two cores; every run adds --val 0 (all 60,000 images train), --quiet and
#     an --out folder in a temporary folder;
#   KEEP (unset): a folder to keep each run's output and run folder in (default: deleted).
# Exit status: 0 all runs done, 1 a run failed (its output's tail is shown), 2 usage or no data.
set -euo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,22s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
cnn=$1
if [[ ! -x $cnn || -d $cnn ]]; then
  echo "$0: $cnn: not an executable (expected the built cnn program, e.g. build/cnn)" >&2
  exit 2
fi
formats=${FORMATS:-idx folders csv}
seeds=${SEEDS:-1 2 3}
read -r -a recipe <<<"${RECIPE:---preset lenet5 --epochs 2 --batch 64 --lr 0.05}"
declare -A data=([idx]=${IDX:-data/fashion} [folders]=${FOLDERS:-data/fashion-png}
                 [csv]=${CSV:-data/fashion-csv})
declare -A expected=([idx]=train-images-idx3-ubyte [folders]=train [csv]=train.csv)

for format in $formats; do
  if [[ -z ${data[$format]+set} ]]; then
    echo "$0: FORMATS: unknown format '$format' (expected idx, folders or csv)" >&2
    exit 2
  fi
  path=${data[$format]}
  if [[ ! -e $path/${expected[$format]} && ! -e $path/${expected[$format]}.gz ]]; then
    echo "$0: $path: no ${expected[$format]} there (expected the $format form of Fashion-MNIST;" \
      "make it with scripts/fetch-fashion-mnist.sh data/fashion --folders data/fashion-png" \
      "--csv data/fashion-csv)" >&2
    exit 2
  fi
done
for seed in $seeds; do
  if ! [[ $seed =~ ^[0-9]+$ ]]; then
    echo "$0: SEEDS: expected whole numbers, got '$seed'" >&2
    exit 2
  fi
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
keep=${KEEP:-}
[[ -z $keep ]] || mkdir -p "$keep"
# Flags of the image-folder loader, used when this cnn has them: a decoded-image cache in the
# scratch folder (not in the user's cache) so that only the first folder run decodes the PNGs.
extra_folders=()
if "$cnn" train --help 2>/dev/null | grep -q -- '--cache-dir'; then
  extra_folders=(--cache-dir "$scratch/cache")
fi

declare -A accuracy seconds
echo "recipe: ${recipe[*]} --val 0; seeds: $seeds"
# Seeds outside, formats inside: a change in the machine's load falls on every format alike.
for seed in $seeds; do
  for format in $formats; do
    run="$scratch/$format-seed$seed"
    args=(train --data "${data[$format]}" "${recipe[@]}" --seed "$seed" --val 0 --quiet
          --out "$run")
    [[ $format != folders ]] || args+=("${extra_folders[@]}")
    start=$(date +%s.%N)
    if ! "$cnn" "${args[@]}" >"$run.log" 2>&1; then
      echo "$0: $format, seed $seed failed: $cnn ${args[*]}" >&2
      tail -n 15 "$run.log" >&2
      exit 1
    fi
    end=$(date +%s.%N)
    value=$(awk '$1 == "test" && $2 == "accuracy" {print $3; exit}' "$run.log")
    if [[ -z $value ]]; then
      echo "$0: $format, seed $seed: no 'test accuracy' line in the output of $cnn ${args[*]}" >&2
      tail -n 15 "$run.log" >&2
      exit 1
    fi
    accuracy[$format,$seed]=$value
    seconds[$format,$seed]=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
    printf '  %-8s seed %-3s test accuracy %s  (%s s)\n' "$format" "$seed" "$value" \
      "${seconds[$format,$seed]}"
    # What cnn says it found (cnn prints the recognised format), once per format.
    if [[ $seed == "${seeds%% *}" ]]; then
      found=$(grep -m 1 -E 'IDX files|CSV|image folders|CIFAR' "$run.log" || true)
      [[ -z $found ]] || echo "           cnn: $found"
    fi
    if [[ -n $keep ]]; then cp -r "$run" "$run.log" "$keep/"; fi
  done
done

# The table: one row per format, one column per seed, then the mean, its difference from IDX's
# mean (when IDX ran) and the mean wall time of a run.
mean_of() { awk '{sum += $1; n++} END {printf "%.4f", sum / n}'; }
idx_mean=""
if [[ " $formats " == *" idx "* ]]; then
  idx_mean=$(for seed in $seeds; do echo "${accuracy[idx,$seed]}"; done | mean_of)
fi
echo
{
  printf 'format'
  for seed in $seeds; do printf '\tseed %s' "$seed"; done
  printf '\tmean\tvs idx\ts/run\n'
  for format in $formats; do
    printf '%s' "$format"
    for seed in $seeds; do printf '\t%s' "${accuracy[$format,$seed]}"; done
    mean=$(for seed in $seeds; do echo "${accuracy[$format,$seed]}"; done | mean_of)
    time=$(for seed in $seeds; do echo "${seconds[$format,$seed]}"; done | mean_of)
    difference=-
    [[ -z $idx_mean ]] || difference=$(awk -v a="$mean" -v b="$idx_mean" 'BEGIN {printf "%+.4f", a - b}')
    printf '\t%s\t%s\t%.1f\n' "$mean" "$difference" "$time"
  done
} | column -t -s $'\t'
