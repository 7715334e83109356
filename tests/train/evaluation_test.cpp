// Detailed evaluation: the confusion matrix and per-class accuracy agree with the predictions.
#include "cnn/train/evaluation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cnn/core/rng.hpp"

#include "cnn/core/parallel.hpp"
#include "cnn/nn/layers/conv2d.hpp"
#include "cnn/nn/layers/flatten.hpp"
#include "cnn/nn/layers/linear.hpp"
#include "cnn/nn/layers/max_pool2d.hpp"
#include "cnn/nn/layers/relu.hpp"
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

// True 0 0 1 1 1 2, predicted 0 1 1 1 2 2 (the matrix of FromLabelsAndPredictions).
cnn::Evaluation three_classes() {
  return cnn::evaluation_from(3, {0, 0, 1, 1, 1, 2}, {0, 1, 1, 1, 2, 2},
                              {0.9f, 0.6f, 0.8f, 0.7f, 0.5f, 0.99f});
}

TEST(EvaluationTest, ConfusionTextWithNumbersIsTheTableOfEarlierVersions) {
  const cnn::Evaluation e = three_classes();
  const std::string expected =
      "confusion matrix (rows: true class, columns: predicted class)\n"
      "true\\pred     0     1     2   total  accuracy\n"
      "        0     1     1     0       2    0.5000\n"
      "        1     0     2     1       3    0.6667\n"
      "        2     0     0     1       1    1.0000\n";
  EXPECT_EQ(e.confusion_text(), expected);
  EXPECT_EQ(e.confusion_text({"0", "1", "2"}), expected);
}

TEST(EvaluationTest, ConfusionTextLabelsByNameAndKeepsColumnsAligned) {
  const cnn::Evaluation e = three_classes();
  const std::string text = e.confusion_text({"cat", "automobile", "a really long class name"});
  const std::string expected =
      "confusion matrix (rows: true class, columns: predicted class)\n"
      "true\\pred             cat automob. a reall.   total  accuracy\n"
      "             cat        1        1        0       2    0.5000\n"
      "      automobile        0        2        1       3    0.6667\n"
      "a really long c.        0        0        1       1    1.0000\n";
  EXPECT_EQ(text, expected);
  // Every line of the table (after the title) is equally long.
  std::vector<std::size_t> lengths;
  std::size_t begin = text.find('\n') + 1;
  for (std::size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
    lengths.push_back(end - begin);
  }
  ASSERT_EQ(lengths.size(), 4u);
  for (const std::size_t length : lengths) EXPECT_EQ(length, lengths[0]) << text;
}

TEST(EvaluationTest, ConfusionTextCountsCharactersNotBytes) {
  // "café" is 5 bytes but 4 characters: padded to the column as 4 characters; a long name in
  // UTF-8 is cut between characters, never inside one.
  const cnn::Evaluation e = cnn::evaluation_from(2, {0, 1}, {0, 1}, {1.0f, 1.0f});
  const std::string text = e.confusion_text(
      {"café", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"});
  EXPECT_NE(text.find("true\\pred     café ééééééé.   total"), std::string::npos) << text;
  EXPECT_NE(text.find("\nééééééééé        0        1       1    1.0000"), std::string::npos)
      << text;
  EXPECT_EQ(cnn::shorten_class_name("tab\there", 20), "tab?here");
  EXPECT_EQ(cnn::shorten_class_name("abcdef", 4), "abc.");
  EXPECT_EQ(cnn::shorten_class_name("abcd", 4), "abcd");
  EXPECT_EQ(cnn::display_width("café"), 4u);
}

TEST(EvaluationTest, ConfusionTextWidensColumnsForLargeCounts) {
  // 123456 images of class 0, all right: the count needs 6 characters, the columns widen.
  std::vector<std::int32_t> labels(123456, 0);
  std::vector<float> confidence(labels.size(), 1.0f);
  const cnn::Evaluation e = cnn::evaluation_from(2, labels, labels, confidence);
  const std::string text = e.confusion_text();
  EXPECT_NE(text.find("true\\pred      0      1   total"), std::string::npos) << text;
  EXPECT_NE(text.find("        0 123456      0  123456    1.0000"), std::string::npos) << text;
}

TEST(EvaluationTest, ClassAccuracyTextAndWrongNameCounts) {
  const cnn::Evaluation e = three_classes();
  EXPECT_EQ(e.class_accuracy_text(), "per-class accuracy: 0: 0.5000 1: 0.6667 2: 1.0000\n");
  EXPECT_EQ(e.class_accuracy_text({"cat", "dog", "a long name"}),
            "per-class accuracy: cat: 0.5000 dog: 0.6667 a long name: 1.0000\n");
  try {
    (void)e.confusion_text({"cat", "dog"});
    FAIL() << "2 names for 3 classes were accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("2 class names for 3 classes"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW((void)e.class_accuracy_text({"a", "b", "c", "d"}), std::invalid_argument);
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

// Evaluation runs a batch through the network a few images at a time, so that the activations
// stay in the cache; each image's logits must be the bits of a forward pass of the whole batch.
TEST(EvaluationTest, ForwardBlocksGiveTheLogitsOfTheWholeBatch) {
  // 16 channels of 26x26 after the convolution: about 100 KB of activations an image, so that
  // a batch of 40 goes through in blocks of a few images on one thread, and in one or two
  // blocks on two.
  constexpr std::size_t kImages = 40, kSide = 28, kClasses = 10;
  cnn::Rng rng(5);
  std::vector<std::uint8_t> pixels(kImages * kSide * kSide), labels(kImages);
  for (std::uint8_t& p : pixels) p = static_cast<std::uint8_t>(rng.next_u64() % 256);
  for (std::size_t i = 0; i < kImages; ++i) labels[i] = static_cast<std::uint8_t>(i % kClasses);
  const cnn::Dataset data(pixels, labels, kSide, kSide, kClasses);
  cnn::Sequential model;
  model.emplace<cnn::Conv2D>(1, 16, 3);
  model.emplace<cnn::ReLU>();
  model.emplace<cnn::MaxPool2D>(2);
  model.emplace<cnn::Flatten>();
  model.emplace<cnn::Linear>(16 * 13 * 13, kClasses);
  model.initialize(3);
  for (const std::size_t threads : {1u, 2u}) {
    cnn::set_num_threads(threads);
    cnn::Tensor x;
    std::vector<std::int32_t> batch_labels;
    data.gather_range(0, kImages, x, batch_labels);
    const cnn::Tensor whole = model.forward(x, /*training=*/false);
    const cnn::Evaluation e = cnn::evaluate_in_detail(model, data, kImages);
    ASSERT_EQ(e.logits.size(), whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
      ASSERT_EQ(e.logits[i], whole.data()[i]) << "logit " << i << ", " << threads << " threads";
    }
  }
  cnn::set_num_threads(1);
}

TEST(EvaluationTest, TestTimeAugmentationViews) {
  using Shifts = std::vector<std::array<int, 2>>;
  EXPECT_FALSE(cnn::TestTimeAugmentation{}.enabled());
  const cnn::TestTimeAugmentation five = cnn::TestTimeAugmentation::shifted(1, 5);
  EXPECT_EQ(five.shifts, (Shifts{{-1, 0}, {1, 0}, {0, -1}, {0, 1}}));
  EXPECT_EQ(five.views(), 5u);
  EXPECT_EQ(five.describe(),
            "each image and its 4 copies moved 1 pixel up, down, left and right; mean of the "
            "softmax");
  const cnn::TestTimeAugmentation nine = cnn::TestTimeAugmentation::shifted(2, 9);
  EXPECT_EQ(nine.shifts,
            (Shifts{{-2, 0}, {2, 0}, {0, -2}, {0, 2}, {-2, -2}, {-2, 2}, {2, -2}, {2, 2}}));
  EXPECT_EQ(nine.describe(),
            "each image and its 8 copies moved 2 pixels up, down, left, right and diagonally; "
            "mean of the softmax");
  const cnn::TestTimeAugmentation custom{Shifts{{0, 3}, {-1, 2}}};
  EXPECT_EQ(custom.describe(),
            "each image and its 2 copies moved (0, 3), (-1, 2) pixels (rows, columns); mean of "
            "the softmax");
  EXPECT_EQ((cnn::TestTimeAugmentation{Shifts{{1, 1}}}.describe()),
            "each image and its 1 copy moved (1, 1) pixels (rows, columns); mean of the softmax");
  EXPECT_THROW(cnn::TestTimeAugmentation::shifted(0, 5), std::invalid_argument);
  EXPECT_THROW(cnn::TestTimeAugmentation::shifted(1, 4), std::invalid_argument);
}

// With test-time augmentation each image's probabilities are the mean of the softmax of the
// model's outputs for the image and its moved copies (zero where they moved in from outside),
// computed here by hand for a linear model on 3x4 images.
TEST(EvaluationTest, TestTimeAugmentationAveragesTheSoftmaxOfMovedImages) {
  constexpr std::size_t kRows = 3, kCols = 4, kPlane = kRows * kCols, kClasses = 3, kImages = 11;
  cnn::Rng rng(7);
  std::vector<std::uint8_t> pixels(kImages * kPlane), labels(kImages);
  for (std::uint8_t& p : pixels) p = static_cast<std::uint8_t>(rng.next_u64() % 256);
  for (std::size_t i = 0; i < kImages; ++i) labels[i] = static_cast<std::uint8_t>(i % kClasses);
  const cnn::Dataset data(pixels, labels, kRows, kCols, kClasses);
  cnn::Sequential model;
  model.emplace<cnn::Flatten>();
  model.emplace<cnn::Linear>(kPlane, kClasses);
  std::vector<cnn::Parameter> params = model.parameters();
  for (std::size_t i = 0; i < params[0].value->size(); ++i) {
    params[0].value->data()[i] = static_cast<float>(rng.next_u64() % 1000) / 250.0f - 2.0f;
  }
  for (std::size_t i = 0; i < kClasses; ++i)
    params[1].value->data()[i] = 0.1f * static_cast<float>(i);
  const cnn::TestTimeAugmentation tta = cnn::TestTimeAugmentation::shifted(1, 9);

  const cnn::Evaluation plain = cnn::evaluate_in_detail(model, data, 4);
  const cnn::Evaluation e = cnn::evaluate_in_detail(model, data, 4, nullptr, tta);
  ASSERT_EQ(e.images(), kImages);
  ASSERT_EQ(e.logits.size(), kImages * kClasses);
  const float* w = params[0].value->data();
  std::size_t differ = 0;
  for (std::size_t n = 0; n < kImages; ++n) {
    std::vector<double> mean(kClasses, 0.0);
    for (std::size_t view = 0; view < tta.views(); ++view) {
      const auto [dr, dc] = view == 0 ? std::array<int, 2>{0, 0} : tta.shifts[view - 1];
      std::vector<double> out(kClasses);
      for (std::size_t k = 0; k < kClasses; ++k) {
        out[k] = 0.1 * static_cast<double>(k);
        for (std::size_t r = 0; r < kRows; ++r) {
          for (std::size_t c = 0; c < kCols; ++c) {
            const long sr = static_cast<long>(r) - dr, sc = static_cast<long>(c) - dc;
            if (sr < 0 || sr >= static_cast<long>(kRows) || sc < 0 ||
                sc >= static_cast<long>(kCols))
              continue;
            const double x = pixels[n * kPlane + static_cast<std::size_t>(sr) * kCols +
                                    static_cast<std::size_t>(sc)] /
                             255.0;
            out[k] += w[k * kPlane + r * kCols + c] * x;
          }
        }
      }
      const double top = *std::max_element(out.begin(), out.end());
      double total = 0.0;
      for (double& o : out) total += (o = std::exp(o - top));
      for (std::size_t k = 0; k < kClasses; ++k) mean[k] += out[k] / total / 9.0;
    }
    const auto best = std::max_element(mean.begin(), mean.end()) - mean.begin();
    EXPECT_EQ(e.predicted[n], best) << "image " << n;
    EXPECT_NEAR(e.confidence[n], mean[static_cast<std::size_t>(best)], 1e-5) << "image " << n;
    for (std::size_t k = 0; k < kClasses; ++k) {
      EXPECT_NEAR(e.logits[n * kClasses + k], std::log(mean[k]), 1e-4) << n << ", " << k;
    }
    differ += std::abs(e.confidence[n] - plain.confidence[n]) > 1e-3f ? 1 : 0;
  }
  // The moved views matter: the confidences differ from the plain evaluation's.
  EXPECT_GT(differ, kImages / 2);
}

}  // namespace
