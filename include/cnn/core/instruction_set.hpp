// The instruction set the kernels were compiled for.
//
// It is chosen at build time (CMake option CNN_ARCH: native, avx512, avx2 or portable), not at run
// time: the kernels' vector width is a compile-time constant that the register tiles are built
// around, and the project is built from source on the machine that runs it. A binary built for
// more than the CPU has stops with a clear message instead of an illegal-instruction crash.
#pragma once

#include <cstddef>

namespace cnn {

struct InstructionSet {
  const char* name;         // "AVX-512", "AVX2+FMA", "AVX", "SSE2" or "scalar/compiler default"
  std::size_t float_lanes;  // floats per vector register in the kernels' tiles
};

// What the kernels of this build use.
InstructionSet compiled_instruction_set();

// Null when this CPU runs everything the build uses; otherwise the name of the first missing
// feature ("avx512f", "avx2", "fma", ...). Call it before any kernel runs.
const char* missing_cpu_feature();

}  // namespace cnn
