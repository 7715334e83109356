// Input normalisation (src/data/normalization.cpp) and its use by Dataset::gather.
#include "cnn/data/normalization.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cnn/data/dataset.hpp"

namespace {

TEST(Normalization, UnitIsTheExactDivisionEveryEarlierModelWasTrainedWith) {
  std::vector<std::uint8_t> pixels(256);
  std::iota(pixels.begin(), pixels.end(), 0);
  std::vector<float> x(256);
  cnn::Normalization::unit().apply(pixels.data(), 1, 256, x.data());
  for (int v = 0; v < 256; ++v) EXPECT_EQ(x[v], static_cast<float>(v) / 255.0f) << v;
  cnn::Normalization::none().apply(pixels.data(), 1, 256, x.data());
  for (int v = 0; v < 256; ++v) EXPECT_EQ(x[v], static_cast<float>(v)) << v;
}

TEST(Normalization, StandardAppliesEachChannelsMeanAndStd) {
  const cnn::Normalization n = cnn::Normalization::standard({0.5f, 0.25f}, {0.5f, 0.125f});
  const std::vector<std::uint8_t> pixels = {255, 0, 51, 102};  // 2 channels of 2 pixels
  std::vector<float> x(4);
  n.apply(pixels.data(), 2, 2, x.data());
  EXPECT_FLOAT_EQ(x[0], (1.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(x[1], (0.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(x[2], (0.2f - 0.25f) / 0.125f);
  EXPECT_FLOAT_EQ(x[3], (0.4f - 0.25f) / 0.125f);
  EXPECT_FLOAT_EQ(n.apply(255.0f, 1), (1.0f - 0.25f) / 0.125f);
  EXPECT_TRUE(n.fits(2));
  EXPECT_FALSE(n.fits(3));
  EXPECT_TRUE(cnn::Normalization::unit().fits(3));
}

TEST(Normalization, MeasuredStatisticsMakeEachChannelZeroMeanUnitStd) {
  // 3 images of 2 channels of 4 pixels; channel 1 constant.
  std::vector<std::uint8_t> pixels;
  for (int image = 0; image < 3; ++image) {
    for (int k = 0; k < 4; ++k) pixels.push_back(static_cast<std::uint8_t>(10 * image + 40 * k));
    for (int k = 0; k < 4; ++k) pixels.push_back(77);
  }
  const cnn::Normalization n = cnn::Normalization::measure(pixels.data(), 3, 2, 4);
  ASSERT_EQ(n.kind(), cnn::NormalizationKind::standard);
  ASSERT_EQ(n.channels(), 2u);
  std::vector<float> x(pixels.size());
  for (int image = 0; image < 3; ++image) {
    n.apply(pixels.data() + image * 8, 2, 4, x.data() + image * 8);
  }
  double sum = 0, squares = 0;
  for (int image = 0; image < 3; ++image) {
    for (int k = 0; k < 4; ++k)
      sum += x[image * 8 + k], squares += x[image * 8 + k] * x[image * 8 + k];
  }
  EXPECT_NEAR(sum / 12, 0.0, 1e-6);
  EXPECT_NEAR(squares / 12, 1.0, 1e-5);
  // A constant channel is centred and not scaled (std 1), never divided by zero.
  EXPECT_FLOAT_EQ(n.stddev(1), 1.0f);
  EXPECT_FLOAT_EQ(x[4], 0.0f);
}

TEST(Normalization, BadStatisticsAreRefused) {
  EXPECT_THROW(cnn::Normalization::standard({}, {}), std::invalid_argument);
  EXPECT_THROW(cnn::Normalization::standard({0.1f}, {0.1f, 0.2f}), std::invalid_argument);
  EXPECT_THROW(cnn::Normalization::standard({0.1f}, {0.0f}), std::invalid_argument);
  EXPECT_THROW(cnn::Normalization::standard({NAN}, {1.0f}), std::invalid_argument);
  EXPECT_EQ(cnn::parse_normalization_kind("standard"), cnn::NormalizationKind::standard);
  EXPECT_FALSE(cnn::parse_normalization_kind("Standard").has_value());
}

TEST(Normalization, DatasetGatherAppliesItToEveryChannel) {
  // Two 2-channel 1x2 images.
  cnn::LabelledImages images{
      cnn::Shape{2, 1, 2}, {0, 255, 51, 102, 255, 255, 0, 0}, {1, 0}, {"a", "b"}};
  const cnn::Dataset data(std::move(images));
  EXPECT_EQ(data.channels(), 2u);
  EXPECT_EQ(data.image_shape(), (cnn::Shape{2, 1, 2}));
  EXPECT_EQ(data.class_names(), (std::vector<std::string>{"a", "b"}));
  const cnn::Dataset standard =
      data.with_normalization(cnn::Normalization::standard({0.5f, 0.25f}, {0.5f, 0.125f}));
  cnn::Tensor x, y;
  std::vector<std::int32_t> labels;
  standard.gather_range(0, 2, x, labels);
  const std::uint32_t order[] = {0, 1};
  standard.gather(order, y, labels);
  ASSERT_EQ(x.shape(), (cnn::Shape{2, 2, 1, 2}));
  const float expected[] = {-1, 1, -0.4f, 1.2f, 1, 1, -2, -2};
  for (int i = 0; i < 8; ++i) {
    EXPECT_FLOAT_EQ(x.data()[i], expected[i]) << i;
    EXPECT_EQ(x.data()[i], y.data()[i]) << i;
  }
  EXPECT_THROW(data.with_normalization(cnn::Normalization::standard({0.5f}, {0.5f})),
               std::invalid_argument);
}

TEST(Normalization, DescribeGivesTheFormulaWithItsNumbers) {
  EXPECT_EQ(cnn::describe(cnn::Normalization::standard({0.5f}, {0.25f})),
            "standard: x = (pixel / 255 - mean[c]) / std[c], mean 0.5000, std 0.2500");
  EXPECT_NE(cnn::describe(cnn::Normalization::unit()).find("pixel / 255"), std::string::npos);
}

}  // namespace
