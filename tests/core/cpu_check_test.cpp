// The library's instruction-set check (core/instruction_set.hpp, src/core/cpu_check.cpp). The
// refusal on a CPU without the instructions is tested on the real program for each CNN_ARCH by
// scripts/test-isa-paths.sh; here the check passes on the CPU that runs the tests (when it has
// what the build uses) and the message has its documented form.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <type_traits>

#include "cnn/core/instruction_set.hpp"
#include "cnn/nn/layers/relu.hpp"

namespace cnn {
namespace {

TEST(CpuCheck, PassesOnACpuWithTheBuildsInstructions) {
  if (const char* missing = missing_cpu_feature()) {
    GTEST_SKIP() << "this CPU lacks '" << missing << "', which this build's kernels use";
  }
  EXPECT_NO_THROW(require_cpu_support());
  EXPECT_NO_THROW(require_cpu_support());  // asked once, answered every time
  EXPECT_NO_THROW(ReLU{});                 // a layer's constructor runs the check
}

TEST(CpuCheck, MessageNamesTheInstructionSetTheFeatureAndTheRemedy) {
  const std::string expected = std::string("this build's kernels use ") +
                               compiled_instruction_set().name +
                               ", but this CPU lacks 'avx512f'; rebuild with -DCNN_ARCH=native "
                               "(or avx2, or portable)";
  EXPECT_EQ(unsupported_cpu_message("avx512f"), expected);
}

// Callers that catch std::runtime_error (the program's handler does) see the refusal too.
static_assert(std::is_base_of_v<std::runtime_error, UnsupportedCpu>);

}  // namespace
}  // namespace cnn
