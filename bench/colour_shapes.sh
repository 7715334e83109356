#!/usr/bin/env bash
# Colour against grey on the colour-shapes set (scripts/make-colour-shapes.py): trains the same
# recipe with --channels 3 (the RGB images) and --channels 1 (their luminance) and prints both
# test accuracies per seed and their means. The six classes are {red, green} x {circle, square,
# triangle} with red and green of equal luminance, so grey can at best tell the shape: 50 % on
# the six classes, while colour can reach about 100 %. Also prints the shape accuracy (the
# predicted class has the right shape, whatever its colour), read from the run's
# test_predictions.csv when it is there: near 100 % for both shows that the grey model learnt
# the shapes and lost only the colour.
#
# usage: bench/colour_shapes.sh CNN
#   CNN: the built cnn program (build/cnn)
# environment:
#   DATA (data/colour-shapes): the set; made with scripts/make-colour-shapes.py DATA (default
#     settings) when missing;
#   SEEDS ("1 2 3");
#   RECIPE ("--preset lenet5 --epochs 15 --batch 32 --lr 0.02"): the training flags, about 15 s
#     a run on two cores; on the luminance images written as IDX files it reached 48.6 % test
#     accuracy, 97.9 % of shapes right (seed 1); every run adds --val 0, --quiet and an --out
#     folder in a temporary folder;
#   KEEP (unset): a folder to keep each run's output and run folder in (default: deleted).
# Exit status: 0 all runs done, 1 a run failed (its output's tail is shown), 2 usage or no data.
set -euo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,23s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
cnn=$1
if [[ ! -x $cnn || -d $cnn ]]; then
  echo "$0: $cnn: not an executable (expected the built cnn program, e.g. build/cnn)" >&2
  exit 2
fi
data=${DATA:-data/colour-shapes}
seeds=${SEEDS:-1 2 3}
read -r -a recipe <<<"${RECIPE:---preset lenet5 --epochs 15 --batch 32 --lr 0.02}"
for seed in $seeds; do
  if ! [[ $seed =~ ^[0-9]+$ ]]; then
    echo "$0: SEEDS: expected whole numbers, got '$seed'" >&2
    exit 2
  fi
done
if ! "$cnn" train --help 2>/dev/null | grep -q -- '--channels'; then
  echo "$0: $cnn has no --channels flag (expected a cnn that reads colour image folders)" >&2
  exit 2
fi
if [[ ! -d $data/train ]]; then
  if [[ -e $data ]]; then
    echo "$0: $data: no train/ folder (expected the colour-shapes set; remove $data and run" \
      "scripts/make-colour-shapes.py $data)" >&2
    exit 2
  fi
  python=/usr/bin/python3 # Debian's, which python3-numpy and python3-pil serve
  [[ -x $python ]] || python=python3
  echo "making the colour-shapes set in $data ..."
  "$python" "$(dirname "$0")/../scripts/make-colour-shapes.py" "$data" --no-check >&2 ||
    { echo "$0: scripts/make-colour-shapes.py $data failed" >&2; exit 2; }
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
keep=${KEEP:-}
[[ -z $keep ]] || mkdir -p "$keep"
extra=()
if "$cnn" train --help 2>/dev/null | grep -q -- '--cache-dir'; then
  extra=(--cache-dir "$scratch/cache") # not the user's cache
fi

# Shape accuracy of a run's test_predictions.csv (a header naming the columns label and
# predicted): a class given by number is numbered in sorted-name order (green-circle,
# green-square, green-triangle, red-circle, red-square, red-triangle), so its shape is the number
# modulo 3; a class given by name has its shape after the '-'. Prints nothing when the columns
# are not there.
shape_accuracy() {
  awk -F, '
    function shape(class) { return class ~ /^[0-9]+$/ ? class % 3 : substr(class, index(class, "-") + 1) }
    NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "label") l = i; if ($i == "predicted") p = i }; next }
    l && p { n++; if (shape($l) == shape($p)) right++ }
    END { if (n) printf "%.4f", right / n }' "$1"
}

declare -A accuracy shapes
echo "data: $data; recipe: ${recipe[*]} --val 0; seeds: $seeds"
for seed in $seeds; do
  for channels in 3 1; do
    run="$scratch/channels$channels-seed$seed"
    args=(train --data "$data" --channels "$channels" "${recipe[@]}" --seed "$seed" --val 0
          --quiet --out "$run" "${extra[@]}")
    if ! "$cnn" "${args[@]}" >"$run.log" 2>&1; then
      echo "$0: --channels $channels, seed $seed failed: $cnn ${args[*]}" >&2
      tail -n 15 "$run.log" >&2
      exit 1
    fi
    value=$(awk '$1 == "test" && $2 == "accuracy" {print $3; exit}' "$run.log")
    if [[ -z $value ]]; then
      echo "$0: --channels $channels, seed $seed: no 'test accuracy' line in the output of" \
        "$cnn ${args[*]}" >&2
      tail -n 15 "$run.log" >&2
      exit 1
    fi
    accuracy[$channels,$seed]=$value
    shapes[$channels,$seed]=-
    if [[ -f $run/test_predictions.csv ]]; then
      shapes[$channels,$seed]=$(shape_accuracy "$run/test_predictions.csv")
      [[ -n ${shapes[$channels,$seed]} ]] || shapes[$channels,$seed]=-
    fi
    printf '  --channels %s seed %-3s test accuracy %s  shape accuracy %s\n' "$channels" "$seed" \
      "$value" "${shapes[$channels,$seed]}"
    if [[ -n $keep ]]; then cp -r "$run" "$run.log" "$keep/"; fi
  done
done

mean_of() { awk '$1 != "-" {sum += $1; n++} END {if (n) printf "%.4f", sum / n; else print "-"}'; }
echo
{
  printf 'channels'
  for seed in $seeds; do printf '\tseed %s' "$seed"; done
  printf '\tmean\tshapes (mean)\tbest possible\n'
  for channels in 3 1; do
    printf '%s' "$channels"
    for seed in $seeds; do printf '\t%s' "${accuracy[$channels,$seed]}"; done
    printf '\t%s' "$(for seed in $seeds; do echo "${accuracy[$channels,$seed]}"; done | mean_of)"
    printf '\t%s' "$(for seed in $seeds; do echo "${shapes[$channels,$seed]}"; done | mean_of)"
    if [[ $channels == 3 ]]; then printf '\t1.0\n'; else printf '\t0.5 (colour lost)\n'; fi
  done
} | column -t -s $'\t'
