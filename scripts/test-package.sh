#!/usr/bin/env bash
# Tests the installed package as a user meets it (README, "Use it from C++"): installs a build
# into a fresh prefix, configures and builds examples/ against that prefix alone, and runs the
# example on MNIST and an image file. Run by CTest as the test Package (label package).
#
#   scripts/test-package.sh SOURCE_DIR BUILD_DIR MNIST_DIR IMAGE [CXX_COMPILER [CXX_FLAGS [BUILD_TYPE]]]
#
# BUILD_DIR must be fully built (cmake --install copies its libraries and program). Work goes to
# BUILD_DIR/package-test (emptied first). The example's own copy of examples/ is built outside
# the source tree, with CMAKE_PREFIX_PATH set to the prefix and every other way find_package
# could find cnn turned off; the script then checks that cnn came from the prefix and that no
# compile or link command names the source or build tree. Exit status 77 (CTest: skipped)
# without the MNIST files; 1 on any failure.
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR MNIST_DIR IMAGE [CXX_COMPILER [CXX_FLAGS [BUILD_TYPE]]]" >&2
  exit 1
fi
source_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
mnist_dir=$3
image=$4
compiler=${5:-c++}
cxx_flags=${6:-}
build_type=${7:-Release}

fail() {
  echo "test-package: FAILED: $*" >&2
  exit 1
}

if [ ! -e "$mnist_dir/train-images-idx3-ubyte" ] && [ ! -e "$mnist_dir/train-images-idx3-ubyte.gz" ]; then
  echo "test-package: skipped: no MNIST files in $mnist_dir (scripts/fetch-mnist.sh fetches them)"
  exit 77
fi
[ -f "$image" ] || fail "no image file $image"

work=$build_dir/package-test
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
started=$SECONDS

step() {
  echo "== $* ($((SECONDS - started)) s)"
}

step "installing $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" ||
  fail "cmake --install failed (is $build_dir fully built?); see $work/install.log"
[ -f "$prefix/lib/cmake/cnn/cnnConfig.cmake" ] || fail "no lib/cmake/cnn/cnnConfig.cmake in $prefix"
[ -x "$prefix/bin/cnn" ] || fail "the program bin/cnn was not installed"
# Only public headers: each installed header is one of include/cnn/ (or the generated version.hpp).
while IFS= read -r header; do
  relative=${header#"$prefix/include/"}
  [ "$relative" = cnn/core/version.hpp ] || [ -f "$source_dir/include/$relative" ] ||
    fail "installed $relative, which is not a public header (include/cnn/)"
done < <(find "$prefix/include" -type f)

step "configuring examples/ against the prefix alone"
# A copy outside the source tree, so that nothing can be found beside it.
cp -r "$source_dir/examples" "$work/examples"
unset CMAKE_PREFIX_PATH cnn_DIR cnn_ROOT CMAKE_INCLUDE_PATH CMAKE_LIBRARY_PATH CPATH CPLUS_INCLUDE_PATH \
  LIBRARY_PATH
cmake -S "$work/examples" -B "$work/build" \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_CXX_COMPILER="$compiler" \
  -DCMAKE_CXX_FLAGS="$cxx_flags" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$work/configure.log" ||
  fail "configuring examples/ failed; see $work/configure.log"
found=$(sed -n 's/^cnn_DIR:PATH=//p' "$work/build/CMakeCache.txt")
[ "$found" = "$prefix/lib/cmake/cnn" ] ||
  fail "find_package(cnn) found '$found', not the installed $prefix/lib/cmake/cnn"

step "building examples/"
cmake --build "$work/build" -j 2 >"$work/build.log" 2>&1 ||
  fail "building examples/ against the installed package failed; see $work/build.log"
# Every path a compile or link command names must be the prefix's or the system's.
for tree in "$source_dir/include" "$source_dir/src" "$build_dir/include" "$build_dir/libcnn"; do
  if grep -rqF -- "$tree" "$work/build/compile_commands.json" "$work/build/CMakeFiles/classify_digits.dir"; then
    fail "the example's build names $tree: it must see only the installed package"
  fi
done

step "running the example"
"$work/build/classify_digits" "$mnist_dir" "$image" "$work/digits.safetensors" | tee "$work/run.log" ||
  fail "the example failed"
accuracy=$(sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p' "$work/run.log")
[ -n "$accuracy" ] || fail "the example printed no test accuracy"
awk -v a="$accuracy" 'BEGIN { exit !(a >= 90) }' ||
  fail "test accuracy $accuracy% after the example's training; expected at least 90%"
grep -qF "$image: " "$work/run.log" || fail "the example printed no class for $image"
# The fixtures are named after their digit; the example's network is sure of the one the test
# gives it (7-transparent-background-500x500.png: 99.9%).
digit=$(basename "$image" | cut -c1)
if [[ $digit == [0-9] ]]; then
  grep -qF "$image: $digit (" "$work/run.log" || fail "the example did not classify $image as $digit"
fi
[ -s "$work/digits.safetensors" ] || fail "the example wrote no model file"
# The program installed beside the library reads the example's model file.
"$prefix/bin/cnn" info "$work/digits.safetensors" >/dev/null ||
  fail "the installed cnn cannot read the model file the example wrote"

step "passed: installed, built against the prefix and ran in $((SECONDS - started)) s"
