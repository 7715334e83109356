#include "cnn/core/instruction_set.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cnn {
namespace {

TEST(InstructionSet, TheBuildUsesTheInstructionSetItWasConfiguredFor) {
  // scripts/test-isa-paths.sh builds the suite once per CNN_ARCH this CPU can run; this test
  // makes sure each of those builds really compiled the kernels for that path.
  const std::string arch = CNN_ARCH_OPTION;
  const InstructionSet isa = compiled_instruction_set();
  if (arch == "avx512") {
    EXPECT_STREQ(isa.name, "AVX-512");
    EXPECT_EQ(isa.float_lanes, 16u);
  } else if (arch == "avx2") {
    EXPECT_STREQ(isa.name, "AVX2+FMA");
    EXPECT_EQ(isa.float_lanes, 8u);
  } else if (arch == "portable") {
#if defined(__x86_64__)
    EXPECT_STREQ(isa.name, "SSE2");
#endif
    EXPECT_EQ(isa.float_lanes, 4u);
  } else {
    EXPECT_EQ(arch, "native");
    EXPECT_TRUE(isa.float_lanes == 4u || isa.float_lanes == 8u || isa.float_lanes == 16u);
  }
}

TEST(InstructionSet, ThisCpuRunsTheBuild) {
  // The tests are running, so nothing may be reported missing.
  EXPECT_EQ(missing_cpu_feature(), nullptr);
}

}  // namespace
}  // namespace cnn
