// The instruction set the kernels were compiled for.
//
// It is chosen at build time (CMake option CNN_ARCH: native, avx512, avx2 or portable), not at run
// time: the kernels' vector width is a compile-time constant that the register tiles are built
// around, and the project is built from source on the machine that runs it. A binary built for
// more than the CPU has stops with a clear message instead of an illegal-instruction crash: the
// library checks at first use (require_cpu_support below), the program `cnn` before it parses its
// command line.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

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

// Thrown by require_cpu_support: this CPU lacks an instruction the build's kernels use.
class UnsupportedCpu : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The message for a CPU that lacks `missing_feature` (a name as missing_cpu_feature gives it):
// "this build's kernels use AVX-512, but this CPU lacks 'avx512f'; rebuild with
// -DCNN_ARCH=native (or avx2, or portable)", with compiled_instruction_set().name after "use".
std::string unsupported_cpu_message(std::string_view missing_feature);

// Throws UnsupportedCpu (with unsupported_cpu_message) when this CPU cannot run the build's
// kernels; otherwise returns. The CPU is asked once per process (thread-safe); later calls cost
// one load of a static.
//
// The library calls it at first use, so that a program or Python module linking it stops with
// this exception instead of dying of an illegal instruction: in the constructors of Layer, of
// Optimizer and of Augmenter. Only src/kernels/ is compiled for the instruction set (CNN_ARCH),
// and the kernels are reached through a layer (forward and backward of every network, hence
// Sequential, Model, training and evaluation), an optimizer step or an augmentation; the
// check itself is compiled for the baseline (src/core/cpu_check.cpp). The one public way into
// the kernels without any of those objects is the loss on tensors a caller brings (softmax and
// SoftmaxCrossEntropy, nn/softmax_cross_entropy.hpp); the library reaches it only after building
// a network, and a program that calls it before building any layer should call
// require_cpu_support() itself first.
void require_cpu_support();

}  // namespace cnn
