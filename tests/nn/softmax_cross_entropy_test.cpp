#include "cnn/nn/softmax_cross_entropy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gradient_check.hpp"

namespace cnn {
namespace {

TEST(SoftmaxCrossEntropy, GradientMatchesCentralDifferences) {
  SoftmaxCrossEntropy criterion;
  Tensor logits = testing::random_tensor(Shape{5, 10}, 3, -3.0f, 3.0f);
  const std::vector<std::int32_t> labels = {0, 9, 3, 3, 7};
  Tensor dlogits;
  criterion.forward(logits, labels, dlogits);
  const Tensor analytic = dlogits;
  EXPECT_TRUE(testing::compare_gradient("dL/dlogits", logits, analytic,
                                        [&] { return criterion.loss(logits, labels); },
                                        {1e-2, 1e-4, 1e-2}));
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
