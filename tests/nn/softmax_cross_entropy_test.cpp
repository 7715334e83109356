#include "cnn/nn/softmax_cross_entropy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(SoftmaxCrossEntropy, GradientMatchesCentralDifferences) {
  // The plain loss, and with label smoothing.
  for (const double smoothing : {0.0, 0.1}) {
    const SoftmaxCrossEntropy criterion(smoothing);
    Tensor logits = testing::random_tensor(Shape{5, 10}, 3, -3.0f, 3.0f);
    const std::vector<std::int32_t> labels = {0, 9, 3, 3, 7};
    Tensor dlogits;
    criterion.forward(logits, labels, dlogits);
    const Tensor analytic = dlogits;
    EXPECT_TRUE(testing::compare_gradient("dL/dlogits", logits, analytic,
                                          [&] { return criterion.loss(logits, labels); },
                                          {1e-2, 1e-4, 1e-2}))
        << "smoothing " << smoothing;
  }
}

TEST(SoftmaxCrossEntropy, SmoothingMovesTheTargetAndZeroIsThePlainLoss) {
  const Tensor logits = testing::random_tensor(Shape{3, 4}, 6, -2.0f, 2.0f);
  const std::vector<std::int32_t> labels = {2, 0, 3};
  Tensor plain, zero, smooth;
  const double l_plain = SoftmaxCrossEntropy().forward(logits, labels, plain);
  const double l_zero = SoftmaxCrossEntropy(0.0).forward(logits, labels, zero);
  EXPECT_EQ(l_plain, l_zero);
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plain[i], zero[i]);
  // ε = 0.2 over K = 4: the target is 0.85 on the label and 0.05 elsewhere, so each gradient
  // entry moves by (onehot − q) / N, and the loss is −(1/N) Σ q log a, computed here directly.
  const double epsilon = 0.2;
  const double l_smooth = SoftmaxCrossEntropy(epsilon).forward(logits, labels, smooth);
  Tensor probabilities;
  softmax(logits, probabilities);
  double expected = 0.0;
  for (std::size_t n = 0; n < 3; ++n) {
    for (std::size_t k = 0; k < 4; ++k) {
      const bool own = static_cast<std::int32_t>(k) == labels[n];
      const double q = (own ? 1.0 - epsilon : 0.0) + epsilon / 4;
      expected -= q * std::log(double{probabilities[n * 4 + k]}) / 3;
      EXPECT_NEAR(smooth[n * 4 + k], plain[n * 4 + k] + ((own ? 1.0 : 0.0) - q) / 3, 1e-6);
    }
  }
  EXPECT_NEAR(l_smooth, expected, 1e-6);
  EXPECT_THROW(SoftmaxCrossEntropy(1.0), std::invalid_argument);
  EXPECT_THROW(SoftmaxCrossEntropy(-0.1), std::invalid_argument);
}

TEST(SoftmaxCrossEntropy, UniformLogitsGiveLogK) {
  SoftmaxCrossEntropy criterion;
  Tensor logits(Shape{2, 10});
  logits.fill(0.3f);
  const std::vector<std::int32_t> labels = {1, 2};
  Tensor dlogits;
  EXPECT_NEAR(criterion.forward(logits, labels, dlogits), std::log(10.0), 1e-6);
  // (a − y*) / N with a = 0.1 everywhere and N = 2.
  EXPECT_NEAR(dlogits[0], 0.05f, 1e-7);
  EXPECT_NEAR(dlogits[1], (0.1f - 1.0f) / 2, 1e-7);
  EXPECT_NEAR(dlogits[10 + 2], (0.1f - 1.0f) / 2, 1e-7);
}

TEST(SoftmaxCrossEntropy, SharesOfABatchDividedByTheGlobalSizeAddUpToTheWholeBatch) {
  // What the processes of a data-parallel run do: each takes rows of the batch and divides by the
  // global batch's size; the sums of their losses and gradients are the whole batch's. An empty
  // share (a last batch smaller than the number of processes) adds nothing.
  SoftmaxCrossEntropy criterion;
  const Tensor logits = testing::random_tensor(Shape{5, 4}, 9, -2.0f, 2.0f);
  const std::vector<std::int32_t> labels = {0, 3, 1, 1, 2};
  Tensor whole_grad;
  const double whole = criterion.forward(logits, labels, whole_grad);
  Tensor first(Shape{3, 4}), second(Shape{2, 4}), empty(Shape{0, 4}), g1, g2, g0;
  std::copy(logits.data(), logits.data() + 12, first.data());
  std::copy(logits.data() + 12, logits.data() + 20, second.data());
  const double a = criterion.forward(first, std::span(labels).first(3), g1, 5);
  const double b = criterion.forward(second, std::span(labels).last(2), g2, 5);
  const double none = criterion.forward(empty, std::span(labels).first(0), g0, 5);
  EXPECT_NEAR(a + b + none, whole, 1e-12);
  EXPECT_EQ(none, 0.0);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(g1[i], whole_grad[i]) << i;
  for (std::size_t i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(g2[i], whole_grad[12 + i]) << i;
}

TEST(SoftmaxCrossEntropy, HugeLogitsStayFinite) {
  SoftmaxCrossEntropy criterion;
  Tensor logits(Shape{1, 3});
  logits[0] = 1000.0f, logits[1] = -1000.0f, logits[2] = 999.0f;
  const std::vector<std::int32_t> labels = {2};
  Tensor dlogits;
  const double loss = criterion.forward(logits, labels, dlogits);
  EXPECT_NEAR(loss, std::log(1.0 + std::exp(-1.0)) + 1.0, 1e-6);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(std::isfinite(dlogits[i]));
}

TEST(SoftmaxCrossEntropy, RejectsBadLabels) {
  SoftmaxCrossEntropy criterion;
  Tensor logits(Shape{2, 10});
  Tensor dlogits;
  const std::vector<std::int32_t> out_of_range = {1, 10};
  EXPECT_THROW(criterion.forward(logits, out_of_range, dlogits), std::out_of_range);
  const std::vector<std::int32_t> too_few = {1};
  EXPECT_THROW(criterion.forward(logits, too_few, dlogits), ShapeError);
}

TEST(Softmax, RowsSumToOne) {
  Tensor logits = testing::random_tensor(Shape{3, 7}, 9, -5, 5);
  Tensor probs;
  softmax(logits, probs);
  for (std::size_t n = 0; n < 3; ++n) {
    double sum = 0;
    for (std::size_t k = 0; k < 7; ++k) sum += probs[n * 7 + k];
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

}  // namespace
}  // namespace cnn
