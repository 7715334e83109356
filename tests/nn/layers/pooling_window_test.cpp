#include "cnn/nn/layers/pooling_window.hpp"

#include <gtest/gtest.h>

#include "assertions.hpp"

#include <stdexcept>
#include <string>

namespace cnn {
namespace {

using cnn::testing::error_message;

TEST(PoolingWindow, StrideZeroMeansTheKernelSize) {
  const PoolingWindow window("MaxPool2D", Size2{2, 3}, 0, 0);
  EXPECT_EQ(window.stride(), (Size2{2, 3}));
  EXPECT_EQ(window.describe(), "MaxPool2D(kernel=2x3, stride=2x3, padding=0x0)");
}

TEST(PoolingWindow, OutputShapeOnANonSquareInputWithStrideAndPadding) {
  // out = floor((in + 2p - k) / s) + 1: rows (7 + 2 - 3) / 2 + 1 = 4, columns (10 + 0 - 2) / 3 + 1
  // = 3.
  const PoolingWindow window("AvgPool2D", Size2{3, 2}, Size2{2, 3}, Size2{1, 0});
  EXPECT_EQ(window.output_shape(Shape{5, 4, 7, 10}), (Shape{5, 4, 4, 3}));
  const WindowGeometry g = window.geometry(Shape{5, 4, 7, 10});
  EXPECT_EQ(g.channels, 4u);
  EXPECT_EQ(g.in_h, 7u);
  EXPECT_EQ(g.in_w, 10u);
}

TEST(PoolingWindow, BadSettingsNameTheLayerAndTheRule) {
  const std::string zero = error_message<std::invalid_argument>([] {
    PoolingWindow("AvgPool2D", Size2{0, 2}, 0, 0);
  });
  EXPECT_NE(zero.find("AvgPool2D(kernel=0x2"), std::string::npos) << zero;
  EXPECT_NE(zero.find("must be positive"), std::string::npos) << zero;

  const std::string padding = error_message<std::invalid_argument>([] {
    PoolingWindow("MaxPool2D", 3, 1, Size2{1, 2});
  });
  EXPECT_NE(padding.find("MaxPool2D(kernel=3x3, stride=1x1, padding=1x2)"), std::string::npos)
      << padding;
  EXPECT_NE(padding.find("at most half the kernel size"), std::string::npos) << padding;
  EXPECT_NO_THROW(PoolingWindow("MaxPool2D", 2, 1, 1));  // exactly half
}

TEST(PoolingWindow, InputsThatDoNotFitAreShapeErrors) {
  const PoolingWindow window("MaxPool2D", 3, 2, 0);
  const std::string rank = error_message<ShapeError>([&] { window.geometry(Shape{1, 28, 28}); });
  EXPECT_NE(rank.find("expected input [N, C, H, W], got [1, 28, 28]"), std::string::npos) << rank;
  const std::string small = error_message<ShapeError>([&] {
    window.output_shape(Shape{1, 1, 2, 5});
  });
  EXPECT_NE(small.find("[1, 1, 2, 5] is smaller than the window"), std::string::npos) << small;
  // Padding makes room: 2 + 2·1 ≥ 3.
  EXPECT_EQ(PoolingWindow("MaxPool2D", 3, 2, 1).output_shape(Shape{1, 1, 2, 5}),
            (Shape{1, 1, 1, 3}));
}

}  // namespace
}  // namespace cnn
