// The split batch-norm passes of data-parallel runs (synchronised statistics) compute exactly
// what the one-pass kernels compute when the sums are not reduced (one process): the same bits.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cnn/core/rng.hpp"
#include "kernels/kernels.hpp"

namespace {

std::vector<float> random_values(std::size_t count, std::uint64_t seed, float shift) {
  cnn::Rng rng(seed);
  std::vector<float> values(count);
  for (float& v : values) v = static_cast<float>(rng.normal()) * 1.7f + shift;
  return values;
}

struct Shape3 {
  std::size_t batch, channels, spatial;
};

// Images' channels, and [N, C] inputs (spatial 1), whose kernels take blocks of 64 channels: 150
// channels make two whole blocks and a short one.
class BatchNormSplitPasses : public ::testing::TestWithParam<Shape3> {};

TEST_P(BatchNormSplitPasses, ForwardAndBackwardEqualTheOnePassKernelsBitForBit) {
  const auto [batch, channels, spatial] = GetParam();
  const std::size_t count = batch * spatial, size = batch * channels * spatial;
  const std::vector<float> x = random_values(size, 1, 0.4f), dy = random_values(size, 2, 0.0f);
  const std::vector<float> gamma = random_values(channels, 3, 0.5f),
                           beta = random_values(channels, 4, 0.0f);

  std::vector<float> y1(size), mean1(channels), inv1(channels), rm1(channels, 0.2f),
      rv1(channels, 1.1f);
  cnn::kernels::batch_norm_forward_train(x.data(), gamma.data(), beta.data(), y1.data(),
                                         mean1.data(), inv1.data(), rm1.data(), rv1.data(), batch,
                                         channels, spatial, 1e-5f, 0.1f);
  std::vector<double> sums(channels), mu(channels), squares(channels);
  std::vector<float> y2(size), mean2(channels), inv2(channels), rm2(channels, 0.2f),
      rv2(channels, 1.1f);
  cnn::kernels::batch_norm_sums(x.data(), sums.data(), batch, channels, spatial);
  for (std::size_t c = 0; c < channels; ++c) mu[c] = sums[c] / static_cast<double>(count);
  cnn::kernels::batch_norm_squares(x.data(), mu.data(), squares.data(), batch, channels, spatial);
  cnn::kernels::batch_norm_normalize(x.data(), gamma.data(), beta.data(), y2.data(), mu.data(),
                                     squares.data(), count, mean2.data(), inv2.data(), rm2.data(),
                                     rv2.data(), batch, channels, spatial, 1e-5f, 0.1f);
  EXPECT_EQ(y2, y1);
  EXPECT_EQ(mean2, mean1);
  EXPECT_EQ(inv2, inv1);
  EXPECT_EQ(rm2, rm1);
  EXPECT_EQ(rv2, rv1);

  std::vector<float> dgamma1(channels), dbeta1(channels), dx1(size);
  cnn::kernels::batch_norm_backward(x.data(), dy.data(), gamma.data(), mean1.data(), inv1.data(),
                                    dgamma1.data(), dbeta1.data(), dx1.data(), batch, channels,
                                    spatial);
  std::vector<double> sum_dy(channels), sum_dy_xhat(channels);
  std::vector<float> dx2(size);
  cnn::kernels::batch_norm_backward_sums(x.data(), dy.data(), mean2.data(), inv2.data(),
                                         sum_dy.data(), sum_dy_xhat.data(), batch, channels,
                                         spatial);
  cnn::kernels::batch_norm_backward_input(x.data(), dy.data(), gamma.data(), mean2.data(),
                                          inv2.data(), sum_dy.data(), sum_dy_xhat.data(), count,
                                          dx2.data(), batch, channels, spatial);
  EXPECT_EQ(dx2, dx1);
  for (std::size_t c = 0; c < channels; ++c) {
    EXPECT_EQ(static_cast<float>(sum_dy_xhat[c]), dgamma1[c]);
    EXPECT_EQ(static_cast<float>(sum_dy[c]), dbeta1[c]);
  }
  if (spatial != 1) return;
  // [N, C]: each channel's sums are taken in the batch's order, one addition after another, in
  // double (the order results depend on).
  for (std::size_t c = 0; c < channels; ++c) {
    double sum = 0.0, sum_g = 0.0;
    for (std::size_t n = 0; n < batch; ++n) {
      sum += x[n * channels + c];
      sum_g += dy[n * channels + c];
    }
    EXPECT_EQ(sums[c], sum) << "channel " << c;
    EXPECT_EQ(sum_dy[c], sum_g) << "channel " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormSplitPasses,
                         ::testing::Values(Shape3{5, 3, 7}, Shape3{9, 150, 1}, Shape3{4, 64, 1},
                                           Shape3{3, 5, 1}),
                         [](const ::testing::TestParamInfo<Shape3>& shape) {
                           const Shape3& s = shape.param;
                           return "batch" + std::to_string(s.batch) + "_channels" +
                                  std::to_string(s.channels) + "_spatial" +
                                  std::to_string(s.spatial);
                         });

TEST(BatchNormSplitHalves, SumsOfTwoHalvesGiveTheWholeBatchsStatistics) {
  // What two processes do: each sums its half, the sums are added, the normalisation uses the
  // global count. Equal to the whole batch up to the order of the double sums.
  const std::size_t batch = 6, channels = 2, spatial = 4, half = batch / 2;
  const std::size_t plane = channels * spatial, size = batch * plane;
  const std::vector<float> x = random_values(size, 3, -0.8f);
  const std::vector<float> gamma = {1.0f, 2.0f}, beta = {0.0f, 0.5f};
  std::vector<float> y_whole(size), mean(channels), inv(channels), rm(channels), rv(channels, 1);
  cnn::kernels::batch_norm_forward_train(x.data(), gamma.data(), beta.data(), y_whole.data(),
                                         mean.data(), inv.data(), rm.data(), rv.data(), batch,
                                         channels, spatial, 1e-5f, 0.1f);
  std::vector<double> a(channels), b(channels), mu(channels), sa(channels), sb(channels),
      squares(channels);
  cnn::kernels::batch_norm_sums(x.data(), a.data(), half, channels, spatial);
  cnn::kernels::batch_norm_sums(x.data() + half * plane, b.data(), half, channels, spatial);
  for (std::size_t c = 0; c < channels; ++c) mu[c] = (a[c] + b[c]) / double(batch * spatial);
  cnn::kernels::batch_norm_squares(x.data(), mu.data(), sa.data(), half, channels, spatial);
  cnn::kernels::batch_norm_squares(x.data() + half * plane, mu.data(), sb.data(), half, channels,
                                   spatial);
  for (std::size_t c = 0; c < channels; ++c) squares[c] = sa[c] + sb[c];
  std::vector<float> y_halves(size), mean2(channels), inv2(channels), rm2(channels),
      rv2(channels, 1);
  for (std::size_t h = 0; h < 2; ++h) {
    std::vector<float> rm_h(channels), rv_h(channels, 1);
    cnn::kernels::batch_norm_normalize(
        x.data() + h * half * plane, gamma.data(), beta.data(), y_halves.data() + h * half * plane,
        mu.data(), squares.data(), batch * spatial, mean2.data(), inv2.data(),
        h == 0 ? rm2.data() : rm_h.data(), h == 0 ? rv2.data() : rv_h.data(), half, channels,
        spatial, 1e-5f, 0.1f);
  }
  for (std::size_t i = 0; i < size; ++i) EXPECT_NEAR(y_halves[i], y_whole[i], 1e-5f) << i;
  for (std::size_t c = 0; c < channels; ++c) {
    EXPECT_NEAR(rm2[c], rm[c], 1e-6f);
    EXPECT_NEAR(rv2[c], rv[c], 1e-6f);
  }
}

}  // namespace
