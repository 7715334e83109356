#include "cnn/augment.hpp"

#include <gtest/gtest.h>

#include "cnn/kernels.hpp"
#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(AffineWarp, IdentityAndWholePixelShifts) {
  const Tensor x = testing::random_tensor(Shape{2, 1, 5, 6}, 1, 0.0f, 1.0f);
  Tensor y(x.shape());
  const float identity[12] = {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
  kernels::affine_warp(x.data(), y.data(), identity, 2, 1, 5, 6);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]);
  // Reading from column j − 1 and row i + 2 shifts the image right by one and up by two.
  const float shift[12] = {1, 0, -1, 0, 1, 2, 1, 0, -1, 0, 1, 2};
  kernels::affine_warp(x.data(), y.data(), shift, 2, 1, 5, 6);
  for (std::size_t i = 0; i < 5; ++i) {
    for (std::size_t j = 0; j < 6; ++j) {
      const float expected = (j >= 1 && i + 2 < 5) ? x.at(1, 0, i + 2, j - 1) : 0.0f;
      EXPECT_EQ(y.at(1, 0, i, j), expected) << i << "," << j;
    }
  }
}

TEST(AffineWarp, HalfPixelShiftAveragesNeighbours) {
  Tensor x(Shape{1, 1, 1, 3}), y(x.shape());
  x[0] = 0, x[1] = 2, x[2] = 4;
  const float half[6] = {1, 0, 0.5f, 0, 1, 0};
  kernels::affine_warp(x.data(), y.data(), half, 1, 1, 1, 3);
  EXPECT_FLOAT_EQ(y[0], 1.0f);
  EXPECT_FLOAT_EQ(y[1], 3.0f);
  EXPECT_FLOAT_EQ(y[2], 2.0f);  // half of the last pixel, half of the zero outside
}

TEST(Augmenter, SameSeedSameImagesOtherSeedOtherImages) {
  const Tensor x = testing::random_tensor(Shape{4, 1, 12, 12}, 2, 0.0f, 1.0f);
  const AugmentOptions options{2.0, 10.0, 0.1};
  Tensor a = x, b = x, c = x;
  Augmenter(options, 5).apply(a);
  Augmenter(options, 5).apply(b);
  Augmenter(options, 6).apply(c);
  bool moved = false, differs = false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(a[i], b[i]);
    moved = moved || a[i] != x[i];
    differs = differs || a[i] != c[i];
  }
  EXPECT_TRUE(moved);
  EXPECT_TRUE(differs);
}

TEST(Augmenter, RejectsBadAmountsAndShapes) {
  EXPECT_THROW(Augmenter({-1.0, 0.0, 0.0}, 1), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 0.0, 1.0}, 1), std::invalid_argument);
  EXPECT_THROW(Augmenter({0.0, 200.0, 0.0}, 1), std::invalid_argument);
  Augmenter augmenter({1.0, 0.0, 0.0}, 1);
  Tensor flat(Shape{2, 784});
  EXPECT_THROW(augmenter.apply(flat), ShapeError);
  EXPECT_FALSE(AugmentOptions{}.enabled());
}

}  // namespace
}  // namespace cnn
