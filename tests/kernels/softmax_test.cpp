#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/kernels.hpp"

namespace cnn {
namespace {

TEST(SoftmaxKernel, RowsArePositiveSumToOneAndFollowTheDefinition) {
  // Two rows of three classes; the second is the first shifted by 1000, which would overflow
  // exp without the max shift and must give the same probabilities.
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f, 1001.0f, 1002.0f, 1003.0f};
  std::vector<float> probs(6);
  kernels::softmax(logits.data(), probs.data(), 2, 3);
  const double sum = std::exp(-2.0) + std::exp(-1.0) + 1.0;
  for (std::size_t n = 0; n < 2; ++n) {
    EXPECT_FLOAT_EQ(probs[3 * n], static_cast<float>(std::exp(-2.0) / sum));
    EXPECT_FLOAT_EQ(probs[3 * n + 1], static_cast<float>(std::exp(-1.0) / sum));
    EXPECT_FLOAT_EQ(probs[3 * n + 2], static_cast<float>(1.0 / sum));
  }
}

TEST(SoftmaxKernel, VeryNegativeLogitsGiveZeroNotNan) {
  const std::vector<float> logits = {0.0f, -1e30f, -1e30f, 5.0f};
  std::vector<float> probs(4);
  kernels::softmax(logits.data(), probs.data(), 1, 4);
  EXPECT_EQ(probs[1], 0.0f);
  EXPECT_EQ(probs[2], 0.0f);
  EXPECT_FLOAT_EQ(probs[0] + probs[3], 1.0f);
  EXPECT_GT(probs[3], probs[0]);
}

}  // namespace
}  // namespace cnn
