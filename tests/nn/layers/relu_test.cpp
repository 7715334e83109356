#include "cnn/nn/layers/relu.hpp"

#include <gtest/gtest.h>

#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(ReLU, GradientMatchesCentralDifferencesAwayFromZero) {
  Tensor x = testing::random_tensor(Shape{3, 2, 5, 4}, 3);
  // Keep every input at least 0.05 from the kink at 0 (the step is 0.01).
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += x[i] >= 0 ? 0.05f : -0.05f;
  ReLU relu;
  testing::check_layer_gradients(relu, x);
}

TEST(ReLU, ForwardAndBackwardValues) {
  ReLU relu;
  Tensor x(Shape{1, 4});
  x[0] = -2, x[1] = 0, x[2] = 0.5f, x[3] = 3;
  Tensor y(x.shape()), dy(x.shape()), dx(x.shape());
  relu.forward(x, y, true);
  EXPECT_EQ(y[0], 0);
  EXPECT_EQ(y[1], 0);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[3], 3);
  dy.fill(7.0f);
  relu.backward(x, y, dy, &dx);
  EXPECT_EQ(dx[0], 0);
  EXPECT_EQ(dx[1], 0);  // the design: derivative 0 at z <= 0
  EXPECT_EQ(dx[2], 7);
  EXPECT_EQ(dx[3], 7);
}

}  // namespace
}  // namespace cnn
