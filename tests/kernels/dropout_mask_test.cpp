#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/kernels.hpp"

namespace cnn {
namespace {

// The 24-bit uniforms of the words (bits 40..63, then bits 8..31) decide each element against
// floor(p·2²⁴): p = 0.5 gives the threshold 2²³.
TEST(DropoutMaskKernel, TwoElementsPerWordAgainstTheThreshold) {
  const std::uint64_t high_kept = std::uint64_t{0x800000} << 40;     // u = 2²³: kept
  const std::uint64_t low_kept = std::uint64_t{0x800000} << 8;       // u = 2²³: kept
  const std::uint64_t high_dropped = std::uint64_t{0x7fffff} << 40;  // u = 2²³ − 1: dropped
  const std::uint64_t noise = 0xff;                                  // bits 0..7 are not read
  const std::vector<std::uint64_t> words = {high_kept | noise, low_kept | high_dropped,
                                            high_kept | low_kept};
  std::vector<float> mask(5, -1.0f);  // odd: the last word gives one element
  kernels::dropout_mask(words.data(), mask.data(), mask.size(), 0.5);
  EXPECT_EQ(mask, (std::vector<float>{2.0f, 0.0f, 0.0f, 2.0f, 2.0f}));
}

TEST(DropoutMaskKernel, ZeroProbabilityKeepsEverythingUnscaled) {
  const std::vector<std::uint64_t> words = {0, ~std::uint64_t{0}};
  std::vector<float> mask(4);
  kernels::dropout_mask(words.data(), mask.data(), mask.size(), 0.0);
  EXPECT_EQ(mask, (std::vector<float>(4, 1.0f)));
}

TEST(DropoutMaskKernel, KeptValuesAreScaledByOneOverOneMinusP) {
  const std::vector<std::uint64_t> words = {~std::uint64_t{0}};
  std::vector<float> mask(2);
  kernels::dropout_mask(words.data(), mask.data(), mask.size(), 0.3);
  EXPECT_EQ(mask[0], static_cast<float>(1.0 / 0.7));
  EXPECT_EQ(mask[1], static_cast<float>(1.0 / 0.7));
}

}  // namespace
}  // namespace cnn
