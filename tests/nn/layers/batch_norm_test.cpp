#include "cnn/nn/layers/batch_norm.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradient_check.hpp"

namespace cnn {
namespace {

// Batch normalisation is smooth, but its output depends on every input through the batch
// statistics; a scale that makes the variance small would make the step of 1e-2 too coarse, so the
// inputs are spread over [-2, 2].
TEST(BatchNorm, GradientMatchesCentralDifferences2D) {
  const Tensor x = testing::random_tensor(Shape{3, 2, 4, 3}, 11, -2.0f, 2.0f);
  BatchNorm bn(2, 2);
  Rng rng(1);
  bn.initialize(rng, 1.0);
  // Non-trivial γ and β, so their gradients and their effect on dx are both exercised.
  bn.parameters()[0].value->operator[](0) = 1.5f;
  bn.parameters()[0].value->operator[](1) = -0.7f;
  bn.parameters()[1].value->operator[](1) = 0.3f;
  testing::check_layer_gradients(bn, x);
}

TEST(BatchNorm, GradientMatchesCentralDifferences1D) {
  const Tensor x = testing::random_tensor(Shape{5, 3}, 12, -2.0f, 2.0f);
  BatchNorm bn(3, 1);
  bn.parameters()[0].value->fill(0.8f);
  testing::check_layer_gradients(bn, x);
}

TEST(BatchNorm, TrainingNormalisesEachChannelAndUpdatesRunningStatistics) {
  // Channel 0 holds 1, 2, 3, 4 over the batch and positions; channel 1 holds 10 everywhere.
  Tensor x(Shape{2, 2, 1, 2});
  const float values[] = {1, 2, 10, 10, 3, 4, 10, 10};
  for (std::size_t i = 0; i < 8; ++i) x[i] = values[i];
  BatchNorm bn(2, 2, 1e-5, 0.1);
  Tensor y(x.shape());
  bn.forward(x, y, true);
  // Channel 0: μ = 2.5, σ² = 1.25 → x̂ = (x − 2.5)/sqrt(1.25 + 1e-5).
  const double inv = 1.0 / std::sqrt(1.25 + 1e-5);
  EXPECT_NEAR(y[0], (1 - 2.5) * inv, 1e-5);
  EXPECT_NEAR(y[5], (4 - 2.5) * inv, 1e-5);
  EXPECT_NEAR(y[2], 0.0, 1e-5);  // constant channel: x̂ = 0
  // Running statistics: 0.9·0 + 0.1·μ, and 0.9·1 + 0.1·(σ²·M/(M−1)) with M = 4.
  EXPECT_NEAR(bn.running_mean()[0], 0.25, 1e-6);
  EXPECT_NEAR(bn.running_mean()[1], 1.0, 1e-6);
  EXPECT_NEAR(bn.running_var()[0], 0.9 + 0.1 * 1.25 * 4.0 / 3.0, 1e-6);
  EXPECT_NEAR(bn.running_var()[1], 0.9, 1e-6);
}

TEST(BatchNorm, InferenceUsesTheRunningStatistics) {
  BatchNorm bn(1, 1, 1e-5, 0.1);
  bn.running_mean()[0] = 2.0f;
  bn.running_var()[0] = 4.0f;
  bn.parameters()[0].value->fill(3.0f);  // γ
  bn.parameters()[1].value->fill(1.0f);  // β
  Tensor x(Shape{2, 1}), y(Shape{2, 1});
  x[0] = 2.0f;
  x[1] = 6.0f;
  bn.forward(x, y, false);
  EXPECT_NEAR(y[0], 1.0, 1e-5);
  EXPECT_NEAR(y[1], 3.0 * 4.0 / std::sqrt(4.0 + 1e-5) + 1.0, 1e-5);
  EXPECT_EQ(bn.running_mean()[0], 2.0f) << "inference must not move the statistics";
}

TEST(BatchNorm, RejectsInputsOfTheWrongShape) {
  BatchNorm bn2(3, 2), bn1(3, 1);
  EXPECT_THROW(bn2.output_shape(Shape{2, 4, 5, 5}), ShapeError);
  EXPECT_THROW(bn2.output_shape(Shape{2, 3}), ShapeError);
  EXPECT_THROW(bn1.output_shape(Shape{2, 3, 1, 1}), ShapeError);
  EXPECT_NO_THROW(bn1.output_shape(Shape{2, 3}));
  EXPECT_THROW(BatchNorm(0, 2), std::invalid_argument);
  EXPECT_THROW(BatchNorm(3, 3), std::invalid_argument);
  EXPECT_THROW(BatchNorm(3, 2, 0.0), std::invalid_argument);
}

TEST(BatchNorm, BuffersAreNamedAsInPyTorch) {
  BatchNorm bn(4, 2);
  const auto buffers = bn.buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].name, "running_mean");
  EXPECT_EQ(buffers[1].name, "running_var");
  EXPECT_EQ((*buffers[1].value)[3], 1.0f);
}

}  // namespace
}  // namespace cnn
