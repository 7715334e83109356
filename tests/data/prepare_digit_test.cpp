// The preparation of photographed digits (src/data/prepare_digit.cpp): uneven light, shadows and
// noise are background, estimated locally and subtracted before the digit is cropped. Synthetic
// photos, no model: what is checked is the prepared 28x28 image itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "assertions.hpp"
#include "cnn/data/image.hpp"

namespace {

using cnn::testing::Contains;

// A photo of paper, w x h: the brightness is paper(x, y) (the lighting) plus Gaussian noise of
// `noise` levels, with the pixels inside `ink_at(x, y)` `darkness` levels darker. Fixed seed.
template <typename Paper, typename Ink>
cnn::GrayImage photo(std::size_t w, std::size_t h, Paper paper, Ink ink_at, double darkness,
                     double noise) {
  std::mt19937 random(17);
  std::normal_distribution<double> grain(0.0, noise);
  cnn::GrayImage image{w, h, std::vector<std::uint8_t>(w * h)};
  for (std::size_t y = 0; y < h; ++y) {
    for (std::size_t x = 0; x < w; ++x) {
      double v = paper(static_cast<double>(x), static_cast<double>(y)) + grain(random);
      if (ink_at(x, y)) v -= darkness;
      image.pixels[y * w + x] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
    }
  }
  return image;
}

// A "7" drawn with strokes 12 pixels thick in the box [x0, x0 + 60) x [y0, y0 + 100).
auto seven_at(std::size_t x0, std::size_t y0) {
  return [x0, y0](std::size_t x, std::size_t y) {
    if (x < x0 || y < y0 || x >= x0 + 60 || y >= y0 + 100) return false;
    const double u = static_cast<double>(x - x0), v = static_cast<double>(y - y0);
    const bool bar = v < 12;
    // The diagonal from the bar's right end (60, 6) down to (18, 100).
    const double along_x = 60 - (v - 6) * 42.0 / 94.0;
    const bool diagonal = std::abs(u - along_x) < 7;
    return bar || diagonal;
  };
}

struct InkBox {
  std::size_t left = 28, right = 0, top = 28, bottom = 0;
  double cx = 0, cy = 0;
  double stray = 0;  // total ink more than 2 pixels outside the box of clear ink (>= 128)
};

InkBox ink_box(const cnn::GrayImage& digit) {
  InkBox box;
  double mass = 0;
  for (std::size_t y = 0; y < 28; ++y) {
    for (std::size_t x = 0; x < 28; ++x) {
      const double v = digit.at(x, y);
      mass += v;
      box.cx += v * (static_cast<double>(x) + 0.5);
      box.cy += v * (static_cast<double>(y) + 0.5);
      if (v >= 128) {
        box.left = std::min(box.left, x);
        box.right = std::max(box.right, x);
        box.top = std::min(box.top, y);
        box.bottom = std::max(box.bottom, y);
      }
    }
  }
  box.cx /= mass;
  box.cy /= mass;
  for (std::size_t y = 0; y < 28; ++y) {
    for (std::size_t x = 0; x < 28; ++x) {
      if (x + 2 < box.left || x > box.right + 2 || y + 2 < box.top || y > box.bottom + 2) {
        box.stray += digit.at(x, y);
      }
    }
  }
  return box;
}

// The digit fills the 20-pixel box (height 20, the 7's aspect 60:100 kept), sits centred by mass,
// and the rest of the 28x28 image is background (0), not lighting that survived.
void expect_a_clean_seven(const cnn::GrayImage& digit) {
  ASSERT_EQ(digit.width, 28u);
  ASSERT_EQ(digit.height, 28u);
  const InkBox box = ink_box(digit);
  EXPECT_NEAR(static_cast<double>(box.bottom - box.top + 1), 20.0, 1.0);
  EXPECT_NEAR(static_cast<double>(box.right - box.left + 1), 12.0, 1.5);
  EXPECT_NEAR(box.cx, 14.0, 0.6);
  EXPECT_NEAR(box.cy, 14.0, 0.6);
  EXPECT_LE(box.stray, 2.0 * 255) << "at most two pixels' worth of ink outside the digit";
  EXPECT_EQ(digit.at(0, 0), 0);
  EXPECT_EQ(digit.at(27, 27), 0);
}

TEST(PrepareDigitPhotoTest, AStrongGradientIsBackgroundNotInk) {
  // Paper lit from the left: 250 at the left edge down to 110 at the right (±70 levels), noise
  // σ 4, a pen-dark 7 off-centre. One background level (the border median) would leave the dark
  // right side as ink and crop the whole frame.
  const std::size_t w = 320, h = 240;
  const auto light = [&](double x, double) { return 250.0 - 140.0 * x / (w - 1); };
  expect_a_clean_seven(cnn::prepare_digit(photo(w, h, light, seven_at(200, 60), 90, 4)));
  expect_a_clean_seven(cnn::prepare_digit(photo(w, h, light, seven_at(40, 110), 90, 4)));
}

TEST(PrepareDigitPhotoTest, ADiagonalGradientAVignetteAndAShadowEdgeAreBackground) {
  const std::size_t w = 300, h = 300;
  // Light from the top right corner, ±50 levels, with the corners 40 % darker.
  const auto vignette = [&](double x, double y) {
    const double r2 = ((x - 150) * (x - 150) + (y - 150) * (y - 150)) / (2 * 150.0 * 150.0);
    return (190.0 + 50.0 * ((x - 150) - (y - 150)) / 300.0) * (1 - 0.4 * r2);
  };
  expect_a_clean_seven(cnn::prepare_digit(photo(w, h, vignette, seven_at(130, 150), 80, 3)));
  // A shadow: the lower half 60 levels darker, its edge 10 pixels soft, crossing the digit.
  const auto shadow = [](double, double y) {
    return 215.0 - 60.0 / (1 + std::exp(-(y - 150) / 4));
  };
  expect_a_clean_seven(cnn::prepare_digit(photo(w, h, shadow, seven_at(100, 90), 100, 3)));
}

TEST(PrepareDigitPhotoTest, PencilGreyOnNoisyPaperIsFound) {
  // Ink only 60 levels darker than the paper, noise σ 6 and a ±40 gradient from the bottom.
  const std::size_t w = 240, h = 320;
  const auto light = [&](double, double y) { return 180.0 + 80.0 * (y / (h - 1) - 0.5); };
  expect_a_clean_seven(cnn::prepare_digit(photo(w, h, light, seven_at(90, 110), 60, 6)));
}

TEST(PrepareDigitPhotoTest, LightingWithoutADigitIsNoDigit) {
  const auto no_ink = [](std::size_t, std::size_t) { return false; };
  const std::size_t w = 300, h = 200;
  const auto gradient = [&](double x, double y) { return 150.0 + 70.0 * (x + y) / (w + h); };
  const auto shadow = [](double x, double) {
    return 220.0 - 60.0 / (1 + std::exp(-(x - 150) / 4));
  };
  for (const cnn::GrayImage& image :
       {photo(w, h, gradient, no_ink, 0, 0), photo(w, h, gradient, no_ink, 0, 4),
        photo(w, h, shadow, no_ink, 0, 4)}) {
    try {
      cnn::prepare_digit(image, "paper.jpg");
      ADD_FAILURE() << "no error";
    } catch (const cnn::ImageError& e) {
      EXPECT_TRUE(Contains(e.what(), "paper.jpg: no digit found")) << e.what();
    }
  }
}

TEST(PrepareDigitPhotoTest, AnEvenlyLitDrawingIsPreparedAsBefore) {
  // No lighting, no noise: the background is one level, the floor 0, and the result is the
  // plain MNIST preparation: the 7's strokes at full strength.
  const auto flat = [](double, double) { return 240.0; };
  const cnn::GrayImage digit = cnn::prepare_digit(photo(320, 240, flat, seven_at(130, 70), 220, 0));
  expect_a_clean_seven(digit);
  EXPECT_EQ(*std::max_element(digit.pixels.begin(), digit.pixels.end()), 255);
}

TEST(PrepareDigitPhotoTest, TinyAndThinImagesArePreparedOrRejectedCleanly) {
  // The background estimate shrinks, pads and enlarges: sizes down to 1 pixel a side and very
  // long thin strips must neither crash nor read outside the image (the sanitizer build runs
  // this too). A dot or a dash of ink is prepared; paper alone is "no digit".
  std::mt19937 random(3);
  for (const auto& [w, h] : std::vector<std::pair<std::size_t, std::size_t>>{
           {2, 1}, {1, 3}, {3, 3}, {1, 700}, {900, 2}, {5, 400}, {257, 129}, {600, 17}}) {
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
    cnn::GrayImage image{w, h, std::vector<std::uint8_t>(w * h, 230)};
    for (std::uint8_t& v : image.pixels) v = static_cast<std::uint8_t>(225 + random() % 10);
    try {
      cnn::prepare_digit(image, "paper.png");
      ADD_FAILURE() << "paper alone was prepared";
    } catch (const cnn::ImageError& e) {
      EXPECT_TRUE(Contains(e.what(), "paper.png: no digit found")) << e.what();
    }
    image.pixels[(h / 2) * w + w / 2] = 20;  // one dark pixel in the middle
    const cnn::GrayImage digit = cnn::prepare_digit(image, "dot.png");
    EXPECT_EQ(digit.width, 28u);
    EXPECT_EQ(*std::max_element(digit.pixels.begin(), digit.pixels.end()), 255);
  }
  // One pixel has no paper around it to tell ink from: no digit, whatever its value.
  for (const std::uint8_t value : {0, 255}) {
    EXPECT_THROW(cnn::prepare_digit(cnn::GrayImage{1, 1, {value}}), cnn::ImageError);
  }
}

}  // namespace
