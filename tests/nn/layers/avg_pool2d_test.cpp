#include "cnn/nn/layers/avg_pool2d.hpp"

#include <gtest/gtest.h>

#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(AvgPool2D, GradientMatchesCentralDifferences) {
  AvgPool2D pool(Size2{2}, Size2{2});
  testing::check_layer_gradients(pool, testing::random_tensor(Shape{2, 3, 6, 4}, 3));
}

TEST(AvgPool2D, GradientWithOverlapAndPadding) {
  AvgPool2D pool(Size2{3}, Size2{2}, Size2{1});
  testing::check_layer_gradients(pool, testing::random_tensor(Shape{2, 2, 5, 7}, 4));
}

TEST(AvgPool2D, ForwardValuesCountPaddingAsZeros) {
  Tensor x(Shape{1, 1, 2, 2});
  x[0] = 1, x[1] = 2, x[2] = 3, x[3] = 6;
  AvgPool2D whole(Size2{2});
  Tensor y(whole.output_shape(x.shape()));
  whole.forward(x, y, true);
  EXPECT_FLOAT_EQ(y[0], 3.0f);
  AvgPool2D padded(Size2{2}, Size2{2}, Size2{1});  // windows of one real pixel each
  Tensor z(padded.output_shape(x.shape()));
  ASSERT_EQ(z.shape(), (Shape{1, 1, 2, 2}));
  padded.forward(x, z, true);
  EXPECT_FLOAT_EQ(z[0], 0.25f);
  EXPECT_FLOAT_EQ(z[3], 1.5f);
  EXPECT_THROW(AvgPool2D(Size2{2}, Size2{1}, Size2{2}), std::invalid_argument);
  EXPECT_THROW(whole.output_shape(Shape{1, 1, 1, 1}), ShapeError);
}

TEST(GlobalAvgPool2D, GradientMatchesCentralDifferences) {
  GlobalAvgPool2D pool;
  testing::check_layer_gradients(pool, testing::random_tensor(Shape{3, 4, 3, 5}, 5));
}

TEST(GlobalAvgPool2D, MeanOfEachPlane) {
  Tensor x(Shape{1, 2, 1, 3});
  x[0] = 1, x[1] = 2, x[2] = 6, x[3] = -3, x[4] = 0, x[5] = 0;
  GlobalAvgPool2D pool;
  Tensor y(pool.output_shape(x.shape()));
  ASSERT_EQ(y.shape(), (Shape{1, 2, 1, 1}));
  pool.forward(x, y, true);
  EXPECT_FLOAT_EQ(y[0], 3.0f);
  EXPECT_FLOAT_EQ(y[1], -1.0f);
  EXPECT_THROW(pool.output_shape(Shape{2, 3}), ShapeError);
}

}  // namespace
}  // namespace cnn
