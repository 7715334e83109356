#include "cnn/nn/layers/max_pool2d.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <ostream>
#include <string>
#include <vector>

#include "cnn/core/parallel.hpp"
#include "gradient_check.hpp"
#include "kernels/kernels.hpp"

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

// The 2x2/2 kernels (vector lanes, rows spilling into the next row or covered exactly, see
// src/kernels/max_pool2d.cpp) against a plain loop over the definition, on values with many ties,
// +0 and -0 among them (equal, so the first in scan order must win, which a bitwise comparison
// sees), for the presets' shapes, odd batch and channel counts, odd and tiny sizes, and 1 to 3
// threads: values bitwise, arg-max indices identical, and backward's dx bitwise equal to the
// scatter 0 + dy[window] at each window's arg-max, 0 elsewhere (-0 gradients become +0).
struct TwoByTwoCase {
  std::size_t batch, channels, h, w;
};
void PrintTo(const TwoByTwoCase& c, std::ostream* os) {
  *os << "[" << c.batch << "," << c.channels << "," << c.h << "," << c.w << "]";
}

class MaxPool2x2Kernel : public ::testing::TestWithParam<TwoByTwoCase> {
 protected:
  void TearDown() override { set_num_threads(1); }
};

std::uint32_t bits(float v) {
  return std::bit_cast<std::uint32_t>(v);
}

TEST_P(MaxPool2x2Kernel, MatchesTheDefinitionBitwiseWithTies) {
  const TwoByTwoCase c = GetParam();
  WindowGeometry g;
  g.channels = c.channels;
  g.in_h = c.h;
  g.in_w = c.w;
  g.kernel = Size2{2};
  g.stride = Size2{2};
  g.padding = Size2{0};
  const std::size_t planes = c.batch * c.channels, oh = c.h / 2, ow = c.w / 2;
  const std::size_t in_size = planes * c.h * c.w, out_size = planes * oh * ow;

  Rng rng(c.h * 1000 + c.w + c.channels);
  const float pool_values[] = {-1.0f, -0.0f, 0.0f, 0.5f, 2.0f};
  std::vector<float> x(in_size);
  for (float& v : x) v = pool_values[rng.below(5)];
  std::vector<float> dy(out_size);
  for (float& v : dy) v = rng.below(4) == 0 ? -0.0f : static_cast<float>(rng.below(7)) - 3.0f;

  std::vector<float> expected_y(out_size), expected_dx(in_size, 0.0f);
  std::vector<std::int32_t> expected_arg(out_size);
  for (std::size_t p = 0; p < planes; ++p)
    for (std::size_t i = 0; i < oh; ++i)
      for (std::size_t j = 0; j < ow; ++j) {
        std::size_t best = 2 * i * c.w + 2 * j;  // first maximum in scan order
        for (std::size_t a = 2 * i; a < 2 * i + 2; ++a)
          for (std::size_t b = 2 * j; b < 2 * j + 2; ++b)
            if (x[p * c.h * c.w + a * c.w + b] > x[p * c.h * c.w + best]) best = a * c.w + b;
        const std::size_t k = (p * oh + i) * ow + j;
        expected_y[k] = x[p * c.h * c.w + best];
        expected_arg[k] = static_cast<std::int32_t>(best);
        expected_dx[p * c.h * c.w + best] = 0.0f + dy[k];
      }

  for (std::size_t threads : {1u, 2u, 3u}) {
    set_num_threads(threads);
    std::vector<float> y(out_size, std::nanf("")), dx(in_size, std::nanf(""));
    std::vector<std::int32_t> arg(out_size, -1);
    kernels::max_pool2d_forward(x.data(), y.data(), arg.data(), c.batch, g);
    kernels::max_pool2d_backward(dy.data(), arg.data(), dx.data(), c.batch, g);
    for (std::size_t k = 0; k < out_size; ++k) {
      ASSERT_EQ(bits(y[k]), bits(expected_y[k])) << "output " << k << ", " << threads << " threads";
      ASSERT_EQ(arg[k], expected_arg[k]) << "output " << k << ", " << threads << " threads";
    }
    for (std::size_t k = 0; k < in_size; ++k) {
      ASSERT_EQ(bits(dx[k]), bits(expected_dx[k]))
          << "input " << k << ", " << threads << " threads";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MaxPool2x2Kernel,
    ::testing::Values(TwoByTwoCase{3, 32, 24, 24},  // best
                      TwoByTwoCase{3, 64, 10, 10},  //
                      TwoByTwoCase{5, 6, 28, 28},   // lenet5
                      TwoByTwoCase{3, 16, 10, 10},  //
                      TwoByTwoCase{3, 12, 28, 28},  // fast
                      TwoByTwoCase{5, 24, 10, 10},  //
                      TwoByTwoCase{1, 1, 10, 10},   // a single row chunk: no row may spill
                      TwoByTwoCase{1, 1, 2, 2}, TwoByTwoCase{3, 5, 4, 4}, TwoByTwoCase{3, 5, 6, 6},
                      TwoByTwoCase{3, 5, 8, 8}, TwoByTwoCase{3, 5, 12, 14},
                      TwoByTwoCase{3, 5, 16, 18}, TwoByTwoCase{3, 5, 4, 34},
                      TwoByTwoCase{2, 3, 6, 64}, TwoByTwoCase{2, 3, 4, 66},
                      // Odd: the last row or column is in no window.
                      TwoByTwoCase{3, 5, 7, 9}, TwoByTwoCase{3, 5, 9, 8},
                      TwoByTwoCase{3, 5, 10, 11}, TwoByTwoCase{2, 3, 5, 3},
                      TwoByTwoCase{2, 3, 3, 33}));

// Windows other than 2x2/2 without padding (the seed network's 3x3/2 among them) take a path that
// compares whole output rows in vector lanes, window position by window position; the results
// must be the definition's, bit for bit, ties going to the first maximum in scan order. Windows 3
// wide at stride 2 read their rows as even and odd lanes in chunks of 4, 8 or 16 outputs (the
// widths below give each chunk width, a last chunk overlapping the one before, and rows one float
// too short for the chunks, which take the general loop).
TEST(MaxPool2D, UnpaddedWindowsMatchTheDefinitionBitwiseWithTiesBothWays) {
  struct Case {
    std::size_t kh, kw, sh, sw, h, w;
  };
  for (const Case& c : {Case{3, 3, 2, 2, 24, 24}, Case{3, 3, 1, 1, 9, 13}, Case{2, 2, 1, 1, 7, 5},
                        Case{3, 2, 2, 1, 11, 17}, Case{2, 3, 1, 3, 6, 40}, Case{5, 5, 3, 3, 28, 28},
                        Case{1, 1, 1, 1, 4, 4}, Case{3, 3, 2, 2, 3, 3}, Case{3, 3, 2, 2, 25, 25},
                        Case{3, 3, 2, 2, 7, 26}, Case{3, 3, 2, 2, 5, 10}, Case{3, 3, 2, 2, 5, 9},
                        Case{3, 3, 2, 2, 4, 18}, Case{3, 3, 2, 2, 6, 36}, Case{3, 3, 2, 2, 3, 40},
                        Case{3, 3, 2, 2, 3, 70}, Case{1, 3, 1, 2, 2, 12}}) {
    WindowGeometry g;
    g.channels = 3;
    g.in_h = c.h;
    g.in_w = c.w;
    g.kernel = Size2{c.kh, c.kw};
    g.stride = Size2{c.sh, c.sw};
    g.padding = Size2{0};
    const std::size_t batch = 5, planes = batch * g.channels, oh = g.out_h(), ow = g.out_w();
    Rng rng(c.h * 100 + c.w);
    const float pool_values[] = {-1.0f, -0.0f, 0.0f, 0.5f, 2.0f};
    std::vector<float> x(planes * c.h * c.w);
    for (float& v : x) v = pool_values[rng.below(5)];
    for (std::size_t threads : {1u, 2u}) {
      set_num_threads(threads);
      std::vector<float> y(planes * oh * ow, std::nanf(""));
      std::vector<std::int32_t> arg(y.size(), -1);
      kernels::max_pool2d_forward(x.data(), y.data(), arg.data(), batch, g);
      for (std::size_t p = 0; p < planes; ++p)
        for (std::size_t i = 0; i < oh; ++i)
          for (std::size_t j = 0; j < ow; ++j) {
            const float* plane = x.data() + p * c.h * c.w;
            std::size_t best = i * c.sh * c.w + j * c.sw;
            for (std::size_t a = i * c.sh; a < i * c.sh + c.kh; ++a)
              for (std::size_t b = j * c.sw; b < j * c.sw + c.kw; ++b)
                if (plane[a * c.w + b] > plane[best]) best = a * c.w + b;
            const std::size_t k = (p * oh + i) * ow + j;
            ASSERT_EQ(bits(y[k]), bits(plane[best]))
                << c.kh << "x" << c.kw << "/" << c.sh << "," << c.sw << " output " << k;
            ASSERT_EQ(arg[k], static_cast<std::int32_t>(best))
                << c.kh << "x" << c.kw << "/" << c.sh << "," << c.sw << " output " << k;
          }
      // Backward: each window's gradient added into its winner in window order, from +0 (the
      // kernel interleaves the additions of several planes; each plane's order must stay).
      std::vector<float> dy(y.size());
      for (float& v : dy) v = 0.25f * static_cast<float>(rng.below(9)) - 1.0f;
      std::vector<float> dx(x.size(), std::nanf("")), expected(x.size(), 0.0f);
      kernels::max_pool2d_backward(dy.data(), arg.data(), dx.data(), batch, g);
      for (std::size_t p = 0; p < planes; ++p)
        for (std::size_t k = 0; k < oh * ow; ++k)
          expected[p * c.h * c.w + arg[p * oh * ow + k]] += dy[p * oh * ow + k];
      for (std::size_t i = 0; i < dx.size(); ++i) {
        ASSERT_EQ(bits(dx[i]), bits(expected[i]))
            << c.kh << "x" << c.kw << "/" << c.sh << "," << c.sw << " input gradient " << i;
      }
    }
  }
  set_num_threads(1);
}

TEST(MaxPool2D, TwoByTwoNaNWinsOnlyInTheWindowsFirstCorner) {
  // The documented NaN behaviour of the 2x2 kernel: compares with NaN are false, so a NaN in the
  // top-left corner is the result and a NaN elsewhere never wins. 16 windows per row: the vector
  // chunks are used at every instruction set.
  const float nan = std::nanf("");
  WindowGeometry g;
  g.channels = 1;
  g.in_h = 2;
  g.in_w = 32;
  g.kernel = Size2{2};
  g.stride = Size2{2};
  std::vector<float> x(64, 1.0f);
  for (std::size_t j = 0; j < 16; ++j) x[(j % 4 < 2 ? 0 : 32) + 2 * j + j % 2] = nan;
  std::vector<float> y(16);
  std::vector<std::int32_t> arg(16);
  kernels::max_pool2d_forward(x.data(), y.data(), arg.data(), 1, g);
  for (std::size_t j = 0; j < 16; ++j) {
    if (j % 4 == 0) {
      EXPECT_TRUE(std::isnan(y[j])) << j;
    } else {
      EXPECT_EQ(y[j], 1.0f) << j;
    }
    EXPECT_EQ(arg[j], static_cast<std::int32_t>(2 * j)) << j;  // the top-left corner
  }
}

// The ReLU fused into the pool (relu_max_pool2d_forward and _backward, which Sequential uses in
// training) against relu_forward then max_pool2d_forward, and max_pool2d_backward then
// relu_backward, on every path of the pool: 2x2/2 (rows spilling, exact, scalar, odd sizes), the
// unpadded windows (the seed network's 3x3/2 among them, overlapping, so that a winner's
// gradients add up) and the general padded loop. Values with ties, both zeros and NaN, gradients
// with -0; outputs, arg-max and input gradients must agree bit for bit, on 1 to 3 threads.
TEST(MaxPool2D, FusedReluMatchesReluThenPoolBitwise) {
  struct Case {
    std::size_t channels, h, w, kh, kw, sh, sw, ph, pw;
  };
  const float nan = std::nanf("");
  for (const Case& c : {Case{6, 28, 28, 2, 2, 2, 2, 0, 0}, Case{16, 10, 10, 2, 2, 2, 2, 0, 0},
                        Case{3, 7, 9, 2, 2, 2, 2, 0, 0}, Case{2, 4, 34, 2, 2, 2, 2, 0, 0},
                        Case{2, 5, 3, 2, 2, 2, 2, 0, 0}, Case{3, 24, 24, 3, 3, 2, 2, 0, 0},
                        Case{2, 9, 13, 3, 3, 1, 1, 0, 0}, Case{2, 7, 5, 2, 2, 1, 1, 0, 0},
                        Case{2, 7, 9, 3, 3, 2, 2, 1, 1}, Case{2, 6, 7, 2, 2, 2, 2, 1, 1}}) {
    WindowGeometry g;
    g.channels = c.channels;
    g.in_h = c.h;
    g.in_w = c.w;
    g.kernel = Size2{c.kh, c.kw};
    g.stride = Size2{c.sh, c.sw};
    g.padding = Size2{c.ph, c.pw};
    const std::size_t batch = 3, planes = batch * c.channels;
    const std::size_t in_size = planes * c.h * c.w, out_size = planes * g.out_h() * g.out_w();
    Rng rng(c.h * 100 + c.w + c.kh);
    const float values[] = {-1.0f, -0.0f, 0.0f, 0.5f, 2.0f, -2.0f, nan};
    std::vector<float> x(in_size);
    for (float& v : x) v = values[rng.below(7)];
    std::vector<float> dy(out_size);
    for (float& v : dy) v = rng.below(4) == 0 ? -0.0f : static_cast<float>(rng.below(7)) - 3.0f;

    std::vector<float> relu_x(in_size), expected_y(out_size), pooled_dx(in_size);
    std::vector<float> expected_dx(in_size);
    std::vector<std::int32_t> expected_arg(out_size);
    kernels::relu_forward(x.data(), relu_x.data(), in_size);
    kernels::max_pool2d_forward(relu_x.data(), expected_y.data(), expected_arg.data(), batch, g);
    kernels::max_pool2d_backward(dy.data(), expected_arg.data(), pooled_dx.data(), batch, g);
    kernels::relu_backward(x.data(), pooled_dx.data(), expected_dx.data(), in_size);

    for (std::size_t threads : {1u, 2u, 3u}) {
      set_num_threads(threads);
      std::vector<float> y(out_size, nan), dx(in_size, nan);
      std::vector<std::int32_t> arg(out_size, -1);
      kernels::relu_max_pool2d_forward(x.data(), y.data(), arg.data(), batch, g);
      kernels::relu_max_pool2d_backward(dy.data(), y.data(), arg.data(), dx.data(), batch, g);
      const std::string where = std::to_string(c.h) + "x" + std::to_string(c.w) + ", window " +
                                std::to_string(c.kh) + "x" + std::to_string(c.kw) + "/" +
                                std::to_string(c.sh) + " pad " + std::to_string(c.ph) + ", " +
                                std::to_string(threads) + " threads, ";
      for (std::size_t k = 0; k < out_size; ++k) {
        ASSERT_EQ(bits(y[k]), bits(expected_y[k])) << where << "output " << k;
        ASSERT_EQ(arg[k], expected_arg[k]) << where << "output " << k;
      }
      for (std::size_t k = 0; k < in_size; ++k) {
        ASSERT_EQ(bits(dx[k]), bits(expected_dx[k])) << where << "input " << k;
      }
    }
  }
  set_num_threads(1);
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
