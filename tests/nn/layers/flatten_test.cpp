#include "cnn/nn/layers/flatten.hpp"

#include <gtest/gtest.h>

#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(Flatten, KeepsNchwOrder) {
  Flatten flatten;
  const Tensor x = testing::random_tensor(Shape{2, 3, 11, 11}, 1);
  Tensor y(flatten.output_shape(x.shape()));
  EXPECT_EQ(y.shape(), (Shape{2, 363}));
  flatten.forward(x, y, false);
  EXPECT_EQ(y[363 + 5], x.at(1, 0, 0, 5));
  EXPECT_EQ(y[363 + 121 + 12], x.at(1, 1, 1, 1));
}

TEST(Flatten, GradientMatchesCentralDifferences) {
  Flatten flatten;
  testing::check_layer_gradients(flatten, testing::random_tensor(Shape{2, 3, 4, 5}, 2));
}

TEST(Flatten, RejectsRankOne) {
  Flatten flatten;
  EXPECT_THROW(flatten.output_shape(Shape{5}), ShapeError);
}

}  // namespace
}  // namespace cnn
