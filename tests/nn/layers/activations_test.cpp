// Tanh, Sigmoid and LeakyReLU (src/nn/layers/activations.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "cnn/nn/layers/leaky_relu.hpp"
#include "cnn/nn/layers/sigmoid.hpp"
#include "cnn/nn/layers/tanh.hpp"
#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(Tanh, GradientMatchesCentralDifferences) {
  Tanh layer;
  testing::check_layer_gradients(layer, testing::random_tensor(Shape{2, 3, 4, 2}, 5, -2, 2));
}

TEST(Sigmoid, GradientMatchesCentralDifferences) {
  Sigmoid layer;
  testing::check_layer_gradients(layer, testing::random_tensor(Shape{2, 7}, 6, -3, 3));
}

TEST(LeakyReLU, GradientMatchesCentralDifferencesAwayFromZero) {
  Tensor x = testing::random_tensor(Shape{3, 2, 3, 3}, 8);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += x[i] >= 0 ? 0.05f : -0.05f;
  LeakyReLU layer(0.1);
  testing::check_layer_gradients(layer, x);
}

TEST(Activations, ForwardValues) {
  Tensor x(Shape{1, 3}), y(x.shape());
  x[0] = -2.0f, x[1] = 0.0f, x[2] = 1.5f;
  Tanh tanh_layer;
  tanh_layer.forward(x, y, true);
  EXPECT_FLOAT_EQ(y[0], std::tanh(-2.0f));
  EXPECT_FLOAT_EQ(y[1], 0.0f);
  Sigmoid sigmoid;
  sigmoid.forward(x, y, true);
  EXPECT_FLOAT_EQ(y[1], 0.5f);
  EXPECT_FLOAT_EQ(y[2], 1.0f / (1.0f + std::exp(-1.5f)));
  LeakyReLU leaky(0.2);
  leaky.forward(x, y, true);
  EXPECT_FLOAT_EQ(y[0], -0.4f);
  EXPECT_FLOAT_EQ(y[2], 1.5f);
  EXPECT_THROW(LeakyReLU(-0.1), std::invalid_argument);
  EXPECT_THROW(LeakyReLU(1.0), std::invalid_argument);
}

}  // namespace
}  // namespace cnn
