#include "cnn/nn/layers/max_pool2d.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "gradient_check.hpp"

namespace cnn {
namespace {

// Distinct values 0.1 apart in random order: no two elements of a window are within 2h of each
// other, so central differences never cross a change of arg-max.
Tensor distinct_tensor(const Shape& shape, std::uint64_t seed) {
  Tensor t(shape);
  std::vector<std::uint32_t> order(t.size());
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(seed);
  rng.shuffle(order);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = 0.1f * static_cast<float>(order[i]) - 3.0f;
  return t;
}

struct PoolCase {
  std::size_t batch, channels, h, w;
  Size2 kernel, stride, padding;
};

class MaxPool2DGradient : public ::testing::TestWithParam<PoolCase> {};

TEST_P(MaxPool2DGradient, MatchesCentralDifferences) {
  const PoolCase c = GetParam();
  MaxPool2D pool(c.kernel, c.stride, c.padding);
  testing::check_layer_gradients(pool, distinct_tensor(Shape{c.batch, c.channels, c.h, c.w}, 5));
}

INSTANTIATE_TEST_SUITE_P(
    Windows, MaxPool2DGradient,
    ::testing::Values(PoolCase{2, 3, 24, 24, 3, 2, 0},  // the design: overlapping 3x3/2
                      PoolCase{2, 3, 8, 6, 2, 2, 0},    // non-overlapping 2x2/2
                      PoolCase{3, 2, 7, 9, 3, 2, 1},    // overlapping, padded
                      PoolCase{2, 2, 6, 7, 2, 2, 1},    // non-overlapping, padded
                      PoolCase{2, 2, 9, 8, Size2{3, 2}, Size2{2, 1}, Size2{1, 0}}));  // per axis

TEST(MaxPool2D, DesignShape) {
  MaxPool2D pool(3, 2);
  EXPECT_EQ(pool.output_shape(Shape{4, 3, 24, 24}), (Shape{4, 3, 11, 11}));
}

TEST(MaxPool2D, ForwardTakesEachWindowsMaximum) {
  MaxPool2D pool(2, 2);
  Tensor x(Shape{1, 1, 4, 4});
  const float values[] = {1, 2, 5, 0, 3, 4, 1, 1, 0, 0, 9, 8, -1, 6, 7, 7};
  std::copy(std::begin(values), std::end(values), x.data());
  Tensor y(pool.output_shape(x.shape()));
  pool.forward(x, y, false);
  EXPECT_EQ(y[0], 4);
  EXPECT_EQ(y[1], 5);
  EXPECT_EQ(y[2], 6);
  EXPECT_EQ(y[3], 9);
}

TEST(MaxPool2D, OverlappingWindowsAccumulateAtASharedMaximum) {
  // 3x3 input, 2x2 windows with stride 1: all four windows contain the centre, the maximum.
  MaxPool2D pool(2, 1);
  Tensor x(Shape{1, 1, 3, 3});
  x.fill(0.0f);
  x[4] = 10.0f;
  Tensor y(pool.output_shape(x.shape()));
  pool.forward(x, y, true);
  Tensor dy(y.shape());
  dy[0] = 1.0f, dy[1] = 2.0f, dy[2] = 3.0f, dy[3] = 4.0f;
  Tensor dx(x.shape());
  pool.backward(x, y, dy, &dx);
  EXPECT_FLOAT_EQ(dx[4], 10.0f);
  for (std::size_t i = 0; i < 9; ++i) {
    if (i != 4) {
      EXPECT_EQ(dx[i], 0.0f) << i;
    }
  }
}

TEST(MaxPool2D, TiesGoToTheFirstElementOfTheWindowOnWideRowsToo) {
  // ReLU outputs are often all zero in a window: the gradient must go to the window's first
  // element, on narrow and on wide rows.
  for (std::size_t width : {5u, 40u}) {
    MaxPool2D pool(3, 2);
    Tensor x(Shape{1, 1, 3, width});  // all zeros
    Tensor y(pool.output_shape(x.shape()));
    pool.forward(x, y, true);
    Tensor dy(y.shape());
    dy.fill(1.0f);
    Tensor dx(x.shape());
    pool.backward(x, y, dy, &dx);
    for (std::size_t b = 0; b < width; ++b) {
      const bool window_start = b % 2 == 0 && b / 2 < y.dim(3);
      EXPECT_EQ(dx.at(0, 0, 0, b), window_start ? 1.0f : 0.0f)
          << "width " << width << " column " << b;
      EXPECT_EQ(dx.at(0, 0, 1, b), 0.0f);
    }
  }
}

TEST(MaxPool2D, TwoByTwoFastPathMatchesTheDefinitionWithTies) {
  // 2x2/2 windows take a special path; check it against the definition on values with many ties
  // (0, 1 or 2) and odd sizes, whose last row and column no window reads.
  for (std::size_t width : {9u, 40u}) {
    const Shape shape{2, 3, 7, width};
    Tensor x(shape);
    Rng rng(11);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.next_u64() % 3);
    MaxPool2D pool(2, 2);
    Tensor y(pool.output_shape(shape));
    pool.forward(x, y, true);
    Tensor dy(y.shape());
    for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 1.0f + static_cast<float>(i);
    Tensor dx(shape);
    dx.fill(std::nanf(""));  // backward must write every element, the unread last row included
    pool.backward(x, y, dy, &dx);

    Tensor expected_dx(shape);
    expected_dx.zero();
    for (std::size_t n = 0; n < 2; ++n)
      for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t i = 0; i < y.dim(2); ++i)
          for (std::size_t j = 0; j < y.dim(3); ++j) {
            std::size_t best_a = 2 * i, best_b = 2 * j;  // first maximum in scan order
            for (std::size_t a = 2 * i; a < 2 * i + 2; ++a)
              for (std::size_t b = 2 * j; b < 2 * j + 2; ++b)
                if (x.at(n, c, a, b) > x.at(n, c, best_a, best_b)) best_a = a, best_b = b;
            EXPECT_EQ(y.at(n, c, i, j), x.at(n, c, best_a, best_b));
            expected_dx.at(n, c, best_a, best_b) = dy.at(n, c, i, j);
          }
    for (std::size_t i = 0; i < dx.size(); ++i) ASSERT_EQ(dx[i], expected_dx[i]) << i;
  }
}

TEST(MaxPool2D, PaddingNeverWinsEvenAgainstNegativeValues) {
  MaxPool2D pool(3, 2, 1);
  Tensor x(Shape{1, 1, 2, 2});
  x.fill(-5.0f);
  Tensor y(pool.output_shape(x.shape()));
  pool.forward(x, y, false);
  EXPECT_EQ(y[0], -5.0f);
}

TEST(MaxPool2D, RejectsBadGeometry) {
  EXPECT_THROW(MaxPool2D(3, 2, 2), std::invalid_argument);  // padding more than half the kernel
  EXPECT_THROW(MaxPool2D(0), std::invalid_argument);
  MaxPool2D pool(3, 2);
  EXPECT_THROW(pool.output_shape(Shape{1, 1, 2, 2}), ShapeError);
  EXPECT_THROW(pool.output_shape(Shape{4, 2}), ShapeError);
}

}  // namespace
}  // namespace cnn
