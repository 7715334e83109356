#include "cnn/nn/layers/conv2d.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "cnn/core/parallel.hpp"
#include "gradient_check.hpp"

namespace cnn {
namespace {

using testing::check_layer_gradients;
using testing::random_tensor;

// The design's forward formula, written out literally over a zero-padded input:
//   z[n,d,i,j] = Σ_c Σ_m Σ_n W[d,c,m,n] · x[n, c, i·s+m−p, j·s+n−p] + b[d]
// With `magnitudes`, the same sum of |b| and the terms' |W·x| instead: the scale of each output's
// rounding errors.
Tensor reference_forward(const Tensor& x, Conv2D& conv, bool magnitudes = false) {
  const Shape out = conv.output_shape(x.shape());
  Tensor y(out);
  const Size2 k = conv.kernel(), s = conv.stride(), p = conv.padding();
  for (std::size_t n = 0; n < out[0]; ++n)
    for (std::size_t d = 0; d < out[1]; ++d)
      for (std::size_t i = 0; i < out[2]; ++i)
        for (std::size_t j = 0; j < out[3]; ++j) {
          double sum = magnitudes ? std::fabs(conv.bias()[d]) : conv.bias()[d];
          for (std::size_t c = 0; c < x.dim(1); ++c)
            for (std::size_t m = 0; m < k.h; ++m)
              for (std::size_t q = 0; q < k.w; ++q) {
                const long a = static_cast<long>(i * s.h + m) - static_cast<long>(p.h);
                const long b = static_cast<long>(j * s.w + q) - static_cast<long>(p.w);
                if (a < 0 || b < 0 || a >= static_cast<long>(x.dim(2)) ||
                    b >= static_cast<long>(x.dim(3)))
                  continue;
                const double term = double{conv.weight().at(d, c, m, q)} * x.at(n, c, a, b);
                sum += magnitudes ? std::fabs(term) : term;
              }
          y.at(n, d, i, j) = static_cast<float>(sum);
        }
  return y;
}

// The design's input gradient, step by step: insert s−1 zeros between the rows and columns of dy
// (dilation), pad it with k−1 zeros, correlate with the 180°-rotated kernel whose in/out channels
// are swapped, then strip the forward padding p. With `magnitudes`, the sums of the terms' |·|.
Tensor reference_input_gradient(const Tensor& dy, Conv2D& conv, const Shape& x_shape,
                                bool magnitudes = false) {
  const Size2 k = conv.kernel(), s = conv.stride(), p = conv.padding();
  const std::size_t N = dy.dim(0), D = dy.dim(1), C = x_shape[1];
  const std::size_t dil_h = (dy.dim(2) - 1) * s.h + 1, dil_w = (dy.dim(3) - 1) * s.w + 1;
  const std::size_t ph = dil_h + 2 * (k.h - 1), pw = dil_w + 2 * (k.w - 1);
  Tensor padded(Shape{N, D, ph, pw});
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t d = 0; d < D; ++d)
      for (std::size_t i = 0; i < dy.dim(2); ++i)
        for (std::size_t j = 0; j < dy.dim(3); ++j)
          padded.at(n, d, k.h - 1 + i * s.h, k.w - 1 + j * s.w) = dy.at(n, d, i, j);
  // Full correlation gives the gradient of the padded input, of size (H + 2p) x (W + 2p).
  const std::size_t full_h = ph - k.h + 1, full_w = pw - k.w + 1;
  Tensor full(Shape{N, C, full_h, full_w});
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t a = 0; a < full_h; ++a)
        for (std::size_t b = 0; b < full_w; ++b) {
          double sum = 0.0;
          for (std::size_t d = 0; d < D; ++d)
            for (std::size_t m = 0; m < k.h; ++m)
              for (std::size_t q = 0; q < k.w; ++q) {
                const double term = double{padded.at(n, d, a + m, b + q)} *
                                    conv.weight().at(d, c, k.h - 1 - m, k.w - 1 - q);
                sum += magnitudes ? std::fabs(term) : term;
              }
          full.at(n, c, a, b) = static_cast<float>(sum);
        }
  Tensor dx(x_shape);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t a = 0; a < x_shape[2]; ++a)
        for (std::size_t b = 0; b < x_shape[3]; ++b)
          dx.at(n, c, a, b) = full.at(n, c, a + p.h, b + p.w);
  return dx;
}

void expect_near(const Tensor& a, const Tensor& b, float tolerance) {
  ASSERT_EQ(a.shape(), b.shape());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tolerance) << "at flat index " << i;
  }
}

struct ConvCase {
  std::size_t batch, in_c, h, w, out_c;
  Size2 kernel, stride, padding;
};

class Conv2DGradient : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DGradient, MatchesCentralDifferences) {
  const ConvCase c = GetParam();
  Conv2D conv(c.in_c, c.out_c, c.kernel, c.stride, c.padding);
  Rng rng(3);
  conv.initialize(rng, 2.0);
  for (std::size_t i = 0; i < conv.bias().size(); ++i) conv.bias()[i] = 0.1f * float(i);
  check_layer_gradients(conv, random_tensor(Shape{c.batch, c.in_c, c.h, c.w}, 11));
}

TEST_P(Conv2DGradient, ForwardMatchesTheDesignFormula) {
  const ConvCase c = GetParam();
  Conv2D conv(c.in_c, c.out_c, c.kernel, c.stride, c.padding);
  Rng rng(5);
  conv.initialize(rng, 2.0);
  conv.bias()[0] = 0.5f;
  const Tensor x = random_tensor(Shape{c.batch, c.in_c, c.h, c.w}, 13);
  Tensor y(conv.output_shape(x.shape()));
  conv.forward(x, y, false);
  expect_near(y, reference_forward(x, conv), 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2DGradient,
    ::testing::Values(
        // batch, in, H, W, out, kernel, stride, padding
        ConvCase{2, 1, 8, 8, 3, 5, 1, 0},            // the design's layer, smaller image
        ConvCase{2, 3, 7, 6, 4, Size2{3, 2}, 1, 0},  // non-square input and kernel
        ConvCase{3, 2, 9, 7, 3, 3, 2, 1},            // stride 2, padding 1
        ConvCase{2, 3, 6, 8, 2, Size2{5, 3}, 2, 2},  // padding 2, stride 2
        ConvCase{2, 2, 7, 9, 3, Size2{2, 3}, Size2{2, 1}, Size2{1, 0}},  // per-axis values
        ConvCase{1, 4, 5, 5, 5, 1, 1, 0},                                // 1x1 kernel
        // Output channels a whole number of vectors (another weight-gradient product), and at
        // least as many input channels as a register tile has rows (the input gradient's order).
        ConvCase{2, 2, 7, 6, 8, 3, 1, 0}, ConvCase{3, 6, 9, 8, 16, 5, 1, 2}));

// The forward pass's transposed tiles, taken when the filters are a whole number of vectors:
// 16, 32 and 64 filters (one, two and four vectors a tile with AVX-512), an odd last output row
// (a tile of one row), rows of positions in several runs of different widths, planes not a whole
// number of vectors (the transpose back's last positions), with and without padding; every
// filter with its own bias.
TEST(Conv2D, TransposedForwardMatchesTheDesignFormula) {
  for (const ConvCase& c :
       {ConvCase{2, 2, 9, 8, 32, 3, 1, 1}, ConvCase{2, 3, 8, 15, 16, Size2{3, 2}, 1, 0},
        ConvCase{1, 2, 7, 11, 64, 3, 1, 1}, ConvCase{2, 1, 9, 30, 32, 5, 1, 2}}) {
    Conv2D conv(c.in_c, c.out_c, c.kernel, c.stride, c.padding);
    Rng rng(7);
    conv.initialize(rng, 2.0);
    for (std::size_t d = 0; d < c.out_c; ++d) conv.bias()[d] = 0.01f * float(d) - 0.2f;
    const Tensor x = random_tensor(Shape{c.batch, c.in_c, c.h, c.w}, 19);
    Tensor y(conv.output_shape(x.shape()));
    conv.forward(x, y, false);
    expect_near(y, reference_forward(x, conv), 1e-5f);
  }
}

// A forward and backward pass of conv on random x (from seed x_seed) and dy (seed x_seed + 2).
struct Pass {
  Tensor x, y, dy, dx;
};
Pass run_pass(Conv2D& conv, const Shape& x_shape, std::uint64_t x_seed) {
  Pass pass;
  pass.x = random_tensor(x_shape, x_seed);
  pass.y.resize(conv.output_shape(pass.x.shape()));
  conv.forward(pass.x, pass.y, true);
  pass.dy = random_tensor(pass.y.shape(), x_seed + 2);
  pass.dx.resize(pass.x.shape());
  conv.backward(pass.x, pass.y, pass.dy, &pass.dx);
  return pass;
}

// The design's weight gradient, written out over a zero-padded input:
//   dW[d,c,m,q] = Σ_n Σ_i Σ_j dy[n,d,i,j] · x[n, c, i·s+m−p, j·s+q−p],  db[d] = Σ dy[n,d,·,·]
// in double; or, with `magnitudes`, the sums of the terms' magnitudes.
struct WeightGradient {
  Tensor dw, db;
};
WeightGradient reference_weight_gradient(const Tensor& x, const Tensor& dy, Conv2D& conv,
                                         bool magnitudes = false) {
  const Size2 k = conv.kernel(), s = conv.stride(), p = conv.padding();
  const std::size_t N = x.dim(0), C = x.dim(1), D = dy.dim(1);
  WeightGradient g{Tensor(Shape{D, C, k.h, k.w}), Tensor(Shape{D})};
  for (std::size_t d = 0; d < D; ++d) {
    double bias_sum = 0.0;
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t i = 0; i < dy.dim(2); ++i)
        for (std::size_t j = 0; j < dy.dim(3); ++j) {
          const double term = dy.at(n, d, i, j);
          bias_sum += magnitudes ? std::fabs(term) : term;
        }
    g.db[d] = static_cast<float>(bias_sum);
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t m = 0; m < k.h; ++m)
        for (std::size_t q = 0; q < k.w; ++q) {
          double sum = 0.0;
          for (std::size_t n = 0; n < N; ++n)
            for (std::size_t i = 0; i < dy.dim(2); ++i)
              for (std::size_t j = 0; j < dy.dim(3); ++j) {
                const long a = static_cast<long>(i * s.h + m) - static_cast<long>(p.h);
                const long b = static_cast<long>(j * s.w + q) - static_cast<long>(p.w);
                if (a < 0 || b < 0 || a >= static_cast<long>(x.dim(2)) ||
                    b >= static_cast<long>(x.dim(3)))
                  continue;
                const double term = double{dy.at(n, d, i, j)} * x.at(n, c, a, b);
                sum += magnitudes ? std::fabs(term) : term;
              }
          g.dw.at(d, c, m, q) = static_cast<float>(sum);
        }
  }
  return g;
}

// The same with conv initialised from seed 9 first.
Pass forward_and_backward(Conv2D& conv, const ConvCase& c) {
  Rng rng(9);
  conv.initialize(rng, 2.0);
  return run_pass(conv, Shape{c.batch, c.in_c, c.h, c.w}, 17);
}

TEST(Conv2D, InputGradientEqualsTheDesignsRotatedKernelCorrelation) {
  // Strides that tile the padded input exactly, as the design's method assumes.
  for (const ConvCase& c : {ConvCase{2, 3, 7, 7, 4, 3, 2, 0}, ConvCase{2, 2, 9, 7, 3, 3, 2, 1},
                            ConvCase{1, 2, 6, 8, 2, Size2{4, 2}, 2, 2}}) {
    Conv2D conv(c.in_c, c.out_c, c.kernel, c.stride, c.padding);
    const Pass pass = forward_and_backward(conv, c);
    expect_near(pass.dx, reference_input_gradient(pass.dy, conv, pass.x.shape()), 1e-5f);
  }
}

// The weight gradient against the design's (reference_weight_gradient).
TEST(Conv2D, WeightGradientMatchesTheDesignFormula) {
  // Each of the weight gradient's products: the dot-product form (3 filters), the transposed
  // one's compact tiles for kernels 5 and 3 wide (kernel rows split into tiles of 3 + 4 and of
  // 2 + 2; 16, 32 and 64 filters; positions not a whole number of vectors), and its wide-row
  // tiles for other widths (7).
  for (const ConvCase& c :
       {ConvCase{2, 2, 9, 8, 3, 5, 1, 2}, ConvCase{3, 2, 13, 11, 16, Size2{7, 5}, 1, 0},
        ConvCase{2, 3, 8, 7, 32, Size2{4, 3}, 1, 1}, ConvCase{2, 2, 6, 9, 64, 3, 1, 1},
        ConvCase{2, 2, 9, 10, 16, Size2{2, 7}, 1, 0}}) {
    Conv2D conv(c.in_c, c.out_c, c.kernel, c.stride, c.padding);
    const Pass pass = forward_and_backward(conv, c);
    const WeightGradient exact = reference_weight_gradient(pass.x, pass.dy, conv);
    expect_near(*conv.parameters()[0].grad, exact.dw, 1e-4f);
    expect_near(*conv.parameters()[1].grad, exact.db, 1e-4f);
  }
}

TEST(Conv2D, DesignNetworkShape) {
  Conv2D conv(1, 3, 5);
  EXPECT_EQ(conv.output_shape(Shape{4, 1, 28, 28}), (Shape{4, 3, 24, 24}));
}

TEST(Conv2D, RejectsInputWithWrongChannelsNamingBothShapes) {
  Conv2D conv(3, 2, 3);
  try {
    conv.output_shape(Shape{1, 2, 8, 8});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[N, 3, H, W]"), std::string::npos) << message;
    EXPECT_NE(message.find("[1, 2, 8, 8]"), std::string::npos) << message;
  }
  EXPECT_THROW(conv.output_shape(Shape{1, 3, 2, 2}), ShapeError);  // smaller than the kernel
  EXPECT_THROW(Conv2D(1, 1, 3, 0), std::invalid_argument);         // stride 0
}

TEST(Conv2D, ThreadCountDoesNotChangeForwardAndRepeatsBitwise) {
  for (std::size_t out_channels : {4u, 16u}) {
    Conv2D conv(2, out_channels, 3, 1, 1);
    Rng rng(21);
    conv.initialize(rng, 2.0);
    const Tensor x = random_tensor(Shape{16, 2, 10, 10}, 23);
    const Tensor dy = random_tensor(conv.output_shape(x.shape()), 29);
    auto run = [&](std::size_t threads, Tensor& y, Tensor& dx, Tensor& dw) {
      set_num_threads(threads);
      y.resize(conv.output_shape(x.shape()));
      dx.resize(x.shape());
      conv.forward(x, y, true);
      conv.backward(x, y, dy, &dx);
      dw = *conv.parameters()[0].grad;
    };
    Tensor y1, dx1, dw1, y2, dx2, dw2, y3, dx3, dw3;
    run(1, y1, dx1, dw1);
    run(2, y2, dx2, dw2);
    run(2, y3, dx3, dw3);
    set_num_threads(1);
    // Per-image work is split between threads, so forward and dx are identical bits.
    for (std::size_t i = 0; i < y1.size(); ++i) ASSERT_EQ(y1[i], y2[i]);
    for (std::size_t i = 0; i < dx1.size(); ++i) ASSERT_EQ(dx1[i], dx2[i]);
    // Weight gradients sum per-thread partials: same value up to rounding, same bits per count.
    expect_near(dw1, dw2, 1e-4f);
    for (std::size_t i = 0; i < dw2.size(); ++i) ASSERT_EQ(dw2[i], dw3[i]);
  }
}

TEST(Conv2D, AnEmptyBatchAfterAFullOneHasZeroGradients) {
  // A process of a data-parallel run whose share of the last batch is empty still takes the step
  // and adds its gradients to the others': they must be zeros, not what the workspace kept from
  // the batch before.
  for (std::size_t threads : {1u, 2u}) {
    set_num_threads(threads);
    Conv2D conv(2, 4, 3, 1, 1);
    Rng rng(5);
    conv.initialize(rng, 2.0);
    for (const std::size_t batch : {6u, 0u}) {
      const Tensor x = random_tensor(Shape{batch, 2, 8, 8}, 7);
      const Tensor dy = random_tensor(conv.output_shape(x.shape()), 11);
      Tensor y(conv.output_shape(x.shape())), dx(x.shape());
      conv.forward(x, y, true);
      conv.backward(x, y, dy, &dx);
    }
    for (const Parameter& p : conv.parameters()) {
      for (std::size_t i = 0; i < p.grad->size(); ++i) {
        ASSERT_EQ((*p.grad)[i], 0.0f) << p.name << " at " << i << ", " << threads << " threads";
      }
    }
  }
  set_num_threads(1);
}

// ---- Winograd F(2x2, 3x3) (ConvAlgorithm::winograd) -----------------------------------------
// Its outputs are the design's sums reached through other roundings. The stated tolerance: each
// output and each input-gradient value within kWinogradTolerance · Σ|terms| of the exact sum,
// Σ|terms| the sum of the magnitudes of the products it adds (and |b|), which is what float
// rounding errors scale with. 2^-18 is 32 float ulps of that scale; the cases below stay within
// 2^-20 of it (measured when this was written: some exceed 2^-21), so it leaves a margin of four
// without hiding a wrong transform, whose errors are of the order of the values themselves.
constexpr double kWinogradTolerance = 0x1p-18;

// Whether |a[i] − exact[i]| <= kWinogradTolerance · scale[i] for every i.
::testing::AssertionResult within_winograd_tolerance(const Tensor& a, const Tensor& exact,
                                                     const Tensor& scale) {
  if (a.shape() != exact.shape()) return ::testing::AssertionFailure() << "shapes differ";
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double error = std::fabs(double{a[i]} - double{exact[i]});
    if (error > kWinogradTolerance * std::max(double{scale[i]}, 1e-30)) {
      return ::testing::AssertionFailure() << "at flat index " << i << ": " << a[i] << " against "
                                           << exact[i] << ", scale " << scale[i];
    }
  }
  return ::testing::AssertionSuccess();
}

struct WinogradCase {
  std::size_t batch, in_c, h, w, out_c;
  Size2 padding;
};

class Conv2DWinograd : public ::testing::TestWithParam<WinogradCase> {
 protected:
  Conv2D make(ConvAlgorithm algorithm) const {
    const WinogradCase c = GetParam();
    Conv2D conv(c.in_c, c.out_c, 3, 1, c.padding);
    conv.set_algorithm(algorithm);
    Rng rng(31);
    conv.initialize(rng, 2.0);
    for (std::size_t d = 0; d < c.out_c; ++d) conv.bias()[d] = 0.03f * float(d) - 0.1f;
    return conv;
  }
  Shape input_shape() const {
    const WinogradCase c = GetParam();
    return Shape{c.batch, c.in_c, c.h, c.w};
  }
  // A forward and backward pass on the same random x and dy for every conv.
  Pass run(Conv2D& conv) const { return run_pass(conv, input_shape(), 41); }
  // The output, the input gradient and the weight and bias gradients within the tolerance of
  // the design's formulas.
  void expect_the_design_formulas_within_tolerance() const {
    Conv2D conv = make(ConvAlgorithm::winograd);
    const Pass pass = run(conv);
    EXPECT_TRUE(within_winograd_tolerance(pass.y, reference_forward(pass.x, conv),
                                          reference_forward(pass.x, conv, true)));
    EXPECT_TRUE(
        within_winograd_tolerance(pass.dx, reference_input_gradient(pass.dy, conv, pass.x.shape()),
                                  reference_input_gradient(pass.dy, conv, pass.x.shape(), true)));
    const WeightGradient exact = reference_weight_gradient(pass.x, pass.dy, conv);
    const WeightGradient scale = reference_weight_gradient(pass.x, pass.dy, conv, true);
    EXPECT_TRUE(within_winograd_tolerance(*conv.parameters()[0].grad, exact.dw, scale.dw));
    EXPECT_TRUE(within_winograd_tolerance(*conv.parameters()[1].grad, exact.db, scale.db));
  }
  // Against the direct kernel on the same weights and data: all four within the tolerance of
  // their scale; the output and input gradient the same bits on one thread and two (each image
  // is one thread's), the weight and bias gradients (sums of the threads' partial sums) the same
  // bits when a thread count repeats.
  void expect_the_direct_kernel_within_tolerance() const {
    Conv2D direct = make(ConvAlgorithm::direct);
    const Pass reference = run(direct);
    Tensor first_y, first_dx;
    for (std::size_t threads : {1u, 2u}) {
      set_num_threads(threads);
      Conv2D winograd = make(ConvAlgorithm::winograd);
      const Pass pass = run(winograd);
      EXPECT_TRUE(within_winograd_tolerance(pass.y, reference.y,
                                            reference_forward(pass.x, winograd, true)));
      EXPECT_TRUE(within_winograd_tolerance(
          pass.dx, reference.dx,
          reference_input_gradient(pass.dy, winograd, pass.x.shape(), true)));
      const WeightGradient scale = reference_weight_gradient(pass.x, pass.dy, winograd, true);
      EXPECT_TRUE(within_winograd_tolerance(*winograd.parameters()[0].grad,
                                            *direct.parameters()[0].grad, scale.dw));
      EXPECT_TRUE(within_winograd_tolerance(*winograd.parameters()[1].grad,
                                            *direct.parameters()[1].grad, scale.db));
      Conv2D again = make(ConvAlgorithm::winograd);
      run(again);
      for (std::size_t k = 0; k < 2; ++k) {
        const Tensor& a = *winograd.parameters()[k].grad;
        const Tensor& b = *again.parameters()[k].grad;
        for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << k << " at " << i;
      }
      if (threads == 1) {
        first_y = pass.y;
        first_dx = pass.dx;
      } else {
        for (std::size_t i = 0; i < first_y.size(); ++i) ASSERT_EQ(pass.y[i], first_y[i]);
        for (std::size_t i = 0; i < first_dx.size(); ++i) ASSERT_EQ(pass.dx[i], first_dx[i]);
      }
    }
    set_num_threads(1);
  }
};

TEST_P(Conv2DWinograd, MatchesCentralDifferences) {
  Conv2D conv = make(ConvAlgorithm::winograd);
  check_layer_gradients(conv, random_tensor(input_shape(), 37));
}

TEST_P(Conv2DWinograd, AllFourWithinTheToleranceOfTheDesignFormulas) {
  expect_the_design_formulas_within_tolerance();
}

TEST_P(Conv2DWinograd, AgreesWithTheDirectKernelAndRepeatsOnAnyThreadCount) {
  expect_the_direct_kernel_within_tolerance();
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2DWinograd,
    ::testing::Values(
        // batch, in, H, W, out, padding
        WinogradCase{2, 3, 7, 6, 5, 0},    // channels not whole vectors, odd output (5 x 4)
        WinogradCase{2, 16, 9, 9, 16, 1},  // whole vectors, an odd output plane (9 x 9)
        WinogradCase{3, 20, 6, 8, 33, 2},  // padding 2: the input gradient's padding is 0
        WinogradCase{2, 1, 4, 4, 2, 0},    // one channel, a single 2 x 2 tile
        WinogradCase{2, 2, 1, 1, 3, 1},    // a 1 x 1 image: one output, the tile mostly padding
        WinogradCase{2, 4, 6, 7, 4, Size2{1, 2}}));  // padding per axis

// `best`'s second convolution (32 x 64 channels, four vectors of filters with AVX-512), without
// central differences over its 18,432 weights (ten seconds).
class Conv2DWinogradLarge : public Conv2DWinograd {};
TEST_P(Conv2DWinogradLarge, AllFourWithinTheToleranceOfTheDesignFormulas) {
  expect_the_design_formulas_within_tolerance();
}
TEST_P(Conv2DWinogradLarge, AgreesWithTheDirectKernelAndRepeatsOnAnyThreadCount) {
  expect_the_direct_kernel_within_tolerance();
}
INSTANTIATE_TEST_SUITE_P(Best, Conv2DWinogradLarge,
                         ::testing::Values(WinogradCase{2, 32, 12, 12, 64, 0}));

TEST(Conv2D, TheWinogradAlgorithmNeedsAThreeByThreeStrideOneKernel) {
  Conv2D five(2, 4, 5);
  EXPECT_THROW(five.set_algorithm(ConvAlgorithm::winograd), std::invalid_argument);
  Conv2D strided(2, 4, 3, 2);
  EXPECT_THROW(strided.set_algorithm(ConvAlgorithm::winograd), std::invalid_argument);
  Conv2D wide_padding(2, 4, 3, 1, 3);
  EXPECT_THROW(wide_padding.set_algorithm(ConvAlgorithm::winograd), std::invalid_argument);
  EXPECT_EQ(five.algorithm(), ConvAlgorithm::direct);  // unchanged by the refusal
  Conv2D fits(2, 4, 3, 1, 2);
  fits.set_algorithm(ConvAlgorithm::winograd);
  EXPECT_EQ(fits.algorithm(), ConvAlgorithm::winograd);
  EXPECT_NE(fits.describe().find("algorithm=winograd"), std::string::npos) << fits.describe();
  EXPECT_EQ(Conv2D(2, 4, 3).describe().find("algorithm"), std::string::npos);
}

}  // namespace
}  // namespace cnn
