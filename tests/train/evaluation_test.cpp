// Detailed evaluation: the confusion matrix and per-class accuracy agree with the predictions.
#include "cnn/train/evaluation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cnn/nn/layers/flatten.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "cnn/train/training.hpp"

namespace {

TEST(EvaluationTest, FromLabelsAndPredictions) {
  // True 0 0 1 1 1 2, predicted 0 1 1 1 2 2.
  const cnn::Evaluation e = cnn::evaluation_from(3, {0, 0, 1, 1, 1, 2}, {0, 1, 1, 1, 2, 2},
                                                 {0.9f, 0.6f, 0.8f, 0.7f, 0.5f, 0.99f});
  EXPECT_EQ(e.confusion, (std::vector<std::size_t>{1, 1, 0, 0, 2, 1, 0, 0, 1}));
  EXPECT_EQ(e.correct(), 4u);
  EXPECT_DOUBLE_EQ(e.accuracy(), 4.0 / 6.0);
  EXPECT_EQ(e.class_count(1), 3u);
  EXPECT_DOUBLE_EQ(e.class_accuracy(0), 0.5);
  EXPECT_DOUBLE_EQ(e.class_accuracy(1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(e.class_accuracy(2), 1.0);
  const std::string text = e.confusion_text();
  EXPECT_NE(text.find("        1     0     2     1       3    0.6667"), std::string::npos) << text;
}

TEST(EvaluationTest, RejectsMismatchedInput) {
  EXPECT_THROW(cnn::evaluation_from(2, {0, 1}, {0}, {1.0f}), std::invalid_argument);
  EXPECT_THROW(cnn::evaluation_from(2, {0, 2}, {0, 1}, {1.0f, 1.0f}), std::invalid_argument);
  EXPECT_THROW(cnn::evaluation_from(2, {0, 1}, {0, -1}, {1.0f, 1.0f}), std::invalid_argument);
}

TEST(EvaluationTest, AgreesWithEvaluateAndSoftmax) {
  // A linear model on 2x2 images whose weights pick the class from the brightest pixel.
  std::vector<std::uint8_t> pixels, labels;
  for (int i = 0; i < 23; ++i) {
    const int label = i % 4;
    for (int p = 0; p < 4; ++p) pixels.push_back(p == label ? 200 : 10);
    // Every fifth image is labelled wrongly, so the confusion matrix has off-diagonal entries.
    labels.push_back(static_cast<std::uint8_t>(i % 5 == 0 ? (label + 1) % 4 : label));
  }
  const cnn::Dataset data(pixels, labels, 2, 2, 4);
  cnn::Sequential model;
  model.emplace<cnn::Flatten>();
  model.emplace<cnn::Linear>(4, 4);
  std::vector<cnn::Parameter> params = model.parameters();
  for (std::size_t i = 0; i < params[0].value->size(); ++i) {
    params[0].value->data()[i] = (i / 4 == i % 4) ? 1.0f : 0.0f;  // weight [out, in] = identity
  }
  for (std::size_t i = 0; i < params[1].value->size(); ++i) params[1].value->data()[i] = 0.0f;
  const cnn::Evaluation e = cnn::evaluate_in_detail(model, data, 7);  // batches of 7, 7, 7, 2
  EXPECT_EQ(e.images(), 23u);
  EXPECT_DOUBLE_EQ(e.accuracy(), cnn::evaluate(model, data, 5));
  EXPECT_EQ(e.correct(), 23u - 5u);
  for (std::size_t i = 0; i < 23; ++i) {
    EXPECT_EQ(e.predicted[i], static_cast<int>(i % 4));
    // Softmax of logits 200/255 and 3 x 10/255.
    const double big = std::exp(200.0 / 255), small = std::exp(10.0 / 255);
    EXPECT_NEAR(e.confidence[i], big / (big + 3 * small), 1e-5);
  }
  EXPECT_THROW(cnn::evaluate_in_detail(model, data, 0), std::invalid_argument);
}

}  // namespace
