#!/usr/bin/env bash
# Builds the library and its unit tests once per kernel instruction set this CPU can run
# (CNN_ARCH = portable, avx2, avx512) and runs them: every gradient check and every comparison
# with the plain reference implementations, on each path. Paths the CPU cannot run are still
# compiled (so they stay warning-free) but not run, and reported as such. Extra CMake flags come
# from $CMAKE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)

has() {  # has FEATURE...: the CPU lists every feature
  for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done
}

# ISA_TESTED_BY=PROGRAM (set by .ci/run after `make test`): the leg whose kernels that build of
# cnn already uses is skipped, its unit tests having just run there (`cnn --version` names the
# kernels' instruction set).
covered=""
if [ -n "${ISA_TESTED_BY:-}" ] && [ -x "$ISA_TESTED_BY" ]; then
  case $("$ISA_TESTED_BY" --version 2>/dev/null) in
    *"kernels: AVX-512,"*) covered=avx512 ;;
    *"kernels: AVX2+FMA,"*) covered=avx2 ;;
  esac
fi

status=0
summary=()
for arch in portable avx2 avx512; do
  if [ "$arch" = "$covered" ]; then
    summary+=("$arch: not rebuilt: $ISA_TESTED_BY's kernels are $arch, and its tests just ran")
    continue
  fi
  case $arch in
    portable) needs=() ;;
    avx2) needs=(avx2 fma) ;;
    avx512) needs=(avx512f avx512bw avx512cd avx512dq avx512vl) ;;
  esac
  dir=build-isa-$arch
  echo "== kernels built for $arch in $dir"
  # shellcheck disable=SC2086
  # Without MPI: its tests do not depend on the kernels' instruction set (`make test` runs them).
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCNN_ARCH=$arch -DCNN_BUILD_BENCHMARKS=OFF \
    -DCNN_MPI=OFF ${CMAKE_FLAGS:-} >/dev/null
  if ! has "${needs[@]}"; then
    # ... and the program refuses to start with a clear message instead of crashing.
    if cmake --build "$dir" -j "$jobs" >/dev/null; then
      set +e
      message=$("$dir/cnn" --version 2>&1)
      code=$?
      set -e
      if [ $code -eq 1 ] && [[ $message == *"this CPU lacks"* ]]; then
        summary+=("$arch: compiled, tests not run: this CPU lacks one of ${needs[*]};" \
          "cnn refuses to start with: $message")
      else
        summary+=("$arch: FAILED: cnn on a CPU without $arch exited $code: $message")
        status=1
      fi
    else
      summary+=("$arch: FAILED to compile")
      status=1
    fi
    continue
  fi
  cmake --build "$dir" -j "$jobs" >/dev/null
  if out=$(ctest --test-dir "$dir" --output-on-failure -j "$jobs" -L unit 2>&1); then
    summary+=("$arch: $(grep -m1 'tests passed' <<<"$out")")
  else
    echo "$out"
    summary+=("$arch: FAILED ($(grep -m1 'tests passed' <<<"$out" || echo 'see above'))")
    status=1
  fi
done
echo "== kernel instruction-set paths"
printf '%s\n' "${summary[@]}"
exit $status
