// The pictures of a run: each is a PNG of the expected size, and broken input is refused. (That
// they are legible is checked by looking at them; see README.)
#include "cnn/plots/plots.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "temp_dir.hpp"

namespace {

class PlotsTest : public cnn::testing::TempDirTest {
 protected:
  PlotsTest() : TempDirTest("cnn-plots-test") {}
};

// Pixels of the decoded picture that are neither white nor black: the colours of the lines.
std::size_t coloured_pixels(const cnn::GrayImage& image) {
  return static_cast<std::size_t>(std::count_if(image.pixels.begin(), image.pixels.end(),
                                                [](std::uint8_t v) { return v > 40 && v < 215; }));
}

TEST_F(PlotsTest, LossChart) {
  std::vector<cnn::MetricsRow> rows;
  for (std::size_t step = 10; step <= 1000; step += 10) {
    cnn::MetricsRow row{step, 1, 2.3 / (1 + step / 100.0), 0.01, std::nullopt, 1000, 0.1};
    if (step % 200 == 0) row.validation_accuracy = 0.8 + step / 10000.0;
    rows.push_back(row);
  }
  cnn::plot_loss(path("loss.png"), rows, "test run");
  const cnn::GrayImage image = cnn::read_image(path("loss.png"));
  EXPECT_EQ(image.width, 960u);
  EXPECT_EQ(image.height, 600u);
  EXPECT_GT(coloured_pixels(image), 1000u);
}

// The loss of a run falls over decades (2.3 at the start, 0.01 late in a long run): the loss axis
// is logarithmic, from the power of ten below the lowest loss to the one above the highest.
TEST(LogAxis, SpansWholeDecadesAndMapsLogarithmically) {
  const cnn::LogAxis axis = cnn::LogAxis::covering({2.3, 0.5, 0.012});
  EXPECT_DOUBLE_EQ(axis.low, 0.01);
  EXPECT_DOUBLE_EQ(axis.high, 10);
  EXPECT_DOUBLE_EQ(axis.fraction(0.01), 0.0);
  EXPECT_NEAR(axis.fraction(0.1), 1.0 / 3, 1e-12);  // equal steps per decade
  EXPECT_NEAR(axis.fraction(1), 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(axis.fraction(10), 1.0);
  EXPECT_NEAR(axis.fraction(std::sqrt(0.1)), 0.5, 1e-12);  // linear would put 0.316 at 0.03
  // Non-positive values have no logarithm: they sit at the bottom instead of breaking the chart.
  EXPECT_EQ(axis.fraction(0.0), 0.0);
  EXPECT_EQ(axis.fraction(-1.0), 0.0);
  EXPECT_LE(axis.fraction(INFINITY), 2.0);

  EXPECT_EQ(axis.major_ticks(), (std::vector<double>{0.01, 0.1, 1, 10}));
  const std::vector<double> minor = axis.minor_ticks();
  EXPECT_EQ(minor.size(), 3u * 8u);  // 2..9 in each of three decades
  EXPECT_DOUBLE_EQ(minor.front(), 0.02);
  EXPECT_DOUBLE_EQ(minor.back(), 9);
  EXPECT_EQ(cnn::format_log_tick(0.01), "0.01");
  EXPECT_EQ(cnn::format_log_tick(1), "1");
  EXPECT_EQ(cnn::format_log_tick(10), "10");
  EXPECT_EQ(cnn::format_log_tick(1e-5), "1e-05");
}

TEST(LogAxis, OneDecadeGetsLabelsInsideAndBadValuesAreLeftOut) {
  // An exact power of ten stays the axis's end rather than widening it by a decade.
  const cnn::LogAxis axis = cnn::LogAxis::covering({0.1, 0.45, 0.0, -3.0, NAN, INFINITY});
  EXPECT_DOUBLE_EQ(axis.low, 0.1);
  EXPECT_DOUBLE_EQ(axis.high, 1);
  EXPECT_EQ(axis.major_ticks(), (std::vector<double>{0.1, 0.2, 0.5, 1}));
  EXPECT_EQ(axis.minor_ticks().size(), 6u);  // 0.3 0.4 0.6 0.7 0.8 0.9
  // Nothing positive and finite: a default decade, not a failure.
  const cnn::LogAxis empty = cnn::LogAxis::covering({0.0, -1.0});
  EXPECT_DOUBLE_EQ(empty.low, 0.1);
  EXPECT_DOUBLE_EQ(empty.high, 1);
  // A single value: one decade around it.
  const cnn::LogAxis single = cnn::LogAxis::covering({3.0});
  EXPECT_DOUBLE_EQ(single.low, 1);
  EXPECT_DOUBLE_EQ(single.high, 10);
}

// The moving average of loss.png must not trail the curve at the start of a run.
TEST(CentredMovingAverage, FollowsAStepWithoutStartUpLag) {
  std::vector<double> values(60, 2.0);
  std::fill(values.begin() + 30, values.end(), 0.5);
  const std::vector<double> smoothed = cnn::centred_moving_average(values, 5);
  ASSERT_EQ(smoothed.size(), values.size());
  // Away from the step the average is the series itself, from the very first value (an
  // exponential average started from zero without correction would begin near 0.1).
  for (std::size_t i = 0; i < 25; ++i) EXPECT_DOUBLE_EQ(smoothed[i], 2.0) << i;
  for (std::size_t i = 35; i < 60; ++i) EXPECT_DOUBLE_EQ(smoothed[i], 0.5) << i;
  // Across the step it is centred: halfway at the step, not later.
  EXPECT_NEAR(smoothed[29], (6 * 2.0 + 5 * 0.5) / 11, 1e-12);
  EXPECT_NEAR(smoothed[30], (5 * 2.0 + 6 * 0.5) / 11, 1e-12);
}

TEST(CentredMovingAverage, FollowsADecayingLossFromItsFirstValue) {
  // A loss falling by e every 50 logged steps, with alternating noise; the window loss.png uses
  // for 500 logged steps (10 either side).
  std::vector<double> values, clean;
  for (std::size_t i = 0; i < 500; ++i) {
    clean.push_back(2.3 * std::exp(-static_cast<double>(i) / 50));
    values.push_back(clean.back() * (i % 2 == 0 ? 1.1 : 0.9));
  }
  const std::vector<double> smoothed = cnn::centred_moving_average(values, 10);
  EXPECT_DOUBLE_EQ(smoothed[0], values[0]);
  // Within 5 % of the noiseless curve from step 1 on, where the raw values are 10 % off (an
  // exponential average with weight 0.95, even bias-corrected, runs 19 % above it at step 20: it
  // lags by its memory of about 20 steps).
  for (std::size_t i = 1; i < 100; ++i) {
    EXPECT_NEAR(smoothed[i] / clean[i], 1.0, 0.05) << "step " << i;
  }
  double average = 0, weight = 0;
  for (std::size_t i = 0; i <= 20; ++i) {
    average = 0.95 * average + 0.05 * values[i];
    weight = 0.95 * weight + 0.05;
  }
  EXPECT_GT(average / weight / clean[20], 1.15);  // the lag the centred window removes
  EXPECT_TRUE(cnn::centred_moving_average({}, 3).empty());
  EXPECT_EQ(cnn::centred_moving_average({1.0, 3.0}, 0), (std::vector<double>{1.0, 3.0}));
}

TEST_F(PlotsTest, LossChartDrawsNonPositiveLosses) {
  std::vector<cnn::MetricsRow> rows;
  for (std::size_t step = 1; step <= 50; ++step) {
    rows.push_back({step, 1, step == 25 ? 0.0 : 1.0 / static_cast<double>(step), 0.01, std::nullopt,
                    100, 0.1});
  }
  cnn::plot_loss(path("loss.png"), rows, "zero loss");
  EXPECT_EQ(cnn::read_image(path("loss.png")).width, 960u);
}

TEST_F(PlotsTest, LearningRateChart) {
  cnn::LrFindResult result;
  for (int i = 0; i < 100; ++i) {
    const double rate = 1e-6 * std::pow(10.0, i / 16.5);
    const double loss = 2.3 - 2.0 / (1 + std::exp(-(i - 40) / 6.0)) + (i > 80 ? (i - 80) : 0);
    result.points.push_back({rate, loss, loss});
  }
  result.minimum = 80;
  result.suggested = result.points[80].learning_rate / 10;
  cnn::plot_lr_find(path("lr.png"), result, "lr-find");
  const cnn::GrayImage image = cnn::read_image(path("lr.png"));
  EXPECT_EQ(image.width, 960u);
  EXPECT_EQ(image.height, 600u);
  EXPECT_GT(coloured_pixels(image), 1000u);
  EXPECT_THROW(cnn::plot_lr_find(path("none.png"), cnn::LrFindResult{}, "none"), cnn::PlotError);
  EXPECT_FALSE(std::filesystem::exists(path("none.png")));
}

TEST_F(PlotsTest, LossChartNeedsAFiniteLoss) {
  EXPECT_THROW(cnn::plot_loss(path("loss.png"), {}, "empty"), cnn::PlotError);
  std::vector<cnn::MetricsRow> rows(1);
  rows[0].step = 1;
  rows[0].loss = NAN;
  EXPECT_THROW(cnn::plot_loss(path("loss.png"), rows, "diverged"), cnn::PlotError);
  EXPECT_FALSE(std::filesystem::exists(path("loss.png")));
}

TEST_F(PlotsTest, PredictionGridAndConfusionMatrix) {
  std::vector<cnn::PredictedImage> images;
  for (int i = 0; i < 23; ++i) {
    cnn::PredictedImage p;
    p.image = {1, 28, 28, std::vector<std::uint8_t>(28 * 28, 0)};
    for (std::size_t y = 6; y < 22; ++y) p.image.pixels[y * 28 + 14] = 255;
    p.label = i % 10;
    p.predicted = i % 7 == 0 ? (i + 1) % 10 : i % 10;
    images.push_back(p);
  }
  cnn::plot_predictions(path("predictions.png"), images, 10, "grid");
  const cnn::GrayImage grid = cnn::read_image(path("predictions.png"));
  EXPECT_EQ(grid.width, 1040u);  // 10 cells of 100 pixels and two margins of 20
  EXPECT_EQ(grid.height, 70u + 20u + 3u * 124u);
  // The names "0".."9" of IDX data draw the same picture as no names.
  cnn::plot_predictions(path("numbered.png"), images, 10, "grid",
                        {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  EXPECT_EQ(cnn::read_image(path("numbered.png")).pixels, grid.pixels);
  EXPECT_THROW(cnn::plot_predictions(path("none.png"), {}, 10, "none"), cnn::PlotError);

  const cnn::Evaluation e =
      cnn::evaluation_from(3, {0, 1, 2, 2}, {0, 1, 1, 2}, {0.9f, 0.9f, 0.9f, 0.9f});
  cnn::plot_confusion(path("confusion.png"), e, "matrix");
  const cnn::GrayImage matrix = cnn::read_image(path("confusion.png"));
  EXPECT_GT(matrix.width, 3u * 60u);
  EXPECT_GT(coloured_pixels(matrix), 3u * 60u * 60u);  // the shaded cells
}

// n images of channels x height x width, every pixel `value` (all channels alike, or the
// colour given), image i labelled i % classes and predicted right unless `wrong_every` divides i.
std::vector<cnn::PredictedImage> uniform_images(std::size_t n, std::size_t channels,
                                                std::size_t height, std::size_t width,
                                                std::vector<std::uint8_t> colour, int classes = 10,
                                                std::size_t wrong_every = 0) {
  std::vector<cnn::PredictedImage> images;
  for (std::size_t i = 0; i < n; ++i) {
    cnn::PredictedImage p;
    p.image = {channels, height, width, {}};
    for (std::size_t c = 0; c < channels; ++c) {
      p.image.pixels.insert(p.image.pixels.end(), height * width, colour[c % colour.size()]);
    }
    p.label = static_cast<int>(i) % classes;
    p.predicted = wrong_every != 0 && i % wrong_every == 0 ? (p.label + 1) % classes : p.label;
    images.push_back(p);
  }
  return images;
}

TEST_F(PlotsTest, ColourImagesAreDrawnInColour) {
  // 4x4 images, scaled 24 times to 96x96 in cells 112 wide: the first image's square spans
  // x 28..123 and y 74..169 of the picture (margin 20, header 70, 4 pixels of gap).
  const auto images = uniform_images(3, 3, 4, 4, {200, 30, 90});
  cnn::plot_predictions(path("colour.png"), images, 3, "colour", {"red", "green", "blue"});
  const cnn::Image picture = cnn::read_image_natural(path("colour.png"));
  ASSERT_EQ(picture.channels, 3u);
  EXPECT_EQ(picture.width, 2u * 20u + 3u * 112u);
  for (const auto& [x, y] : {std::pair{28, 74}, std::pair{75, 121}, std::pair{123, 169}}) {
    EXPECT_EQ(picture.at(0, y, x), 200) << x << "," << y;
    EXPECT_EQ(picture.at(1, y, x), 30) << x << "," << y;
    EXPECT_EQ(picture.at(2, y, x), 90) << x << "," << y;
  }
  EXPECT_EQ(picture.at(0, 121, 20), 255);  // the margin stays white
}

TEST_F(PlotsTest, GreyImagesInkOnPaperOrAsTheyAre) {
  // A white (255) image: as ink on paper (MNIST's white strokes) it is drawn black, as it is,
  // white. Its centre is at (20 + 50, 70 + 4 + 48) = (70, 122).
  const auto images = uniform_images(1, 1, 4, 4, {255});
  cnn::plot_predictions(path("ink.png"), images, 1, "ink");
  cnn::plot_predictions(path("as-is.png"), images, 1, "as is", {}, cnn::GreyDrawing::as_is);
  const cnn::GrayImage ink = cnn::read_image(path("ink.png"));
  const cnn::GrayImage as_is = cnn::read_image(path("as-is.png"));
  EXPECT_EQ(ink.at(70, 122), 0);
  EXPECT_EQ(as_is.at(70, 122), 255);
  // A mid grey stays mid grey either way round: 100 as ink is 155.
  const auto grey = uniform_images(1, 1, 4, 4, {100});
  cnn::plot_predictions(path("grey.png"), grey, 1, "grey");
  EXPECT_EQ(cnn::read_image(path("grey.png")).at(70, 122), 155);
}

TEST_F(PlotsTest, NonSquareAndLargeImagesKeepTheirShape) {
  // 10 high, 40 wide: scaled twice (the longer side to at most 96), cells 100 wide and
  // 20 + 40 high.
  cnn::plot_predictions(path("wide.png"), uniform_images(4, 1, 10, 40, {255}), 2, "wide");
  const cnn::GrayImage wide = cnn::read_image(path("wide.png"));
  EXPECT_EQ(wide.width, 2u * 20u + 2u * 100u);
  EXPECT_EQ(wide.height, 70u + 20u + 2u * 60u);
  // 200x100 photos are shrunk to 96x48: cells 112 wide and 48 + 40 high.
  cnn::plot_predictions(path("large.png"), uniform_images(2, 3, 100, 200, {10, 200, 10}), 2,
                        "large", {}, cnn::GreyDrawing::as_is);
  const cnn::Image large = cnn::read_image_natural(path("large.png"));
  EXPECT_EQ(large.width, 2u * 20u + 2u * 112u);
  EXPECT_EQ(large.height, 70u + 20u + 88u);
  EXPECT_EQ(large.at(1, 74 + 24, 20 + 8 + 48), 200);  // the middle of the first image: green
  EXPECT_EQ(large.at(0, 74 + 24, 20 + 8 + 48), 10);
}

TEST_F(PlotsTest, NamedClassesLongNamesAndManyClasses) {
  const std::vector<std::string> long_names = {"a rather long class name that cannot fit",
                                               "another quite long class name",
                                               "Übermäßig lange Klassenbezeichnung"};
  // Wrong predictions with names get a second caption line: cells 84 + 58 high.
  const auto images = uniform_images(6, 1, 28, 28, {128}, 3, 2);
  cnn::plot_predictions(path("named.png"), images, 3, "named", long_names);
  EXPECT_EQ(cnn::read_image(path("named.png")).height, 70u + 20u + 2u * 142u);
  const cnn::Evaluation three =
      cnn::evaluation_from(3, {0, 1, 2, 2}, {0, 1, 1, 2}, {0.9f, 0.9f, 0.9f, 0.9f});
  cnn::plot_confusion(path("named-confusion.png"), three, "named", long_names);
  // The names are cut at 150 pixels: the picture grows by at most that beside and above.
  const cnn::GrayImage named = cnn::read_image(path("named-confusion.png"));
  EXPECT_GT(named.width, 110u + 3u * 60u + 140u);
  EXPECT_LE(named.width, 150u + 60u + 3u * 60u + 140u);
  EXPECT_LE(named.height, 150u + 80u + 3u * 60u + 40u);

  // 100 classes: cells of 12 pixels, a 1200-pixel matrix, labelled by name.
  std::vector<std::int32_t> labels, predicted;
  std::vector<std::string> names;
  for (int c = 0; c < 100; ++c) {
    names.push_back("class " + std::to_string(c) + (c % 7 == 0 ? " with a long name" : ""));
    for (int k = 0; k < 5; ++k) {
      labels.push_back(c);
      predicted.push_back(k == 0 ? (c + 1) % 100 : c);
    }
  }
  const cnn::Evaluation hundred =
      cnn::evaluation_from(100, labels, predicted, std::vector<float>(labels.size(), 0.5f));
  cnn::plot_confusion(path("hundred.png"), hundred, "hundred", names);
  const cnn::GrayImage matrix = cnn::read_image(path("hundred.png"));
  EXPECT_GT(matrix.width, 1200u);
  EXPECT_GT(matrix.height, 1200u);
  EXPECT_LT(matrix.width, 1200u + 500u);
  EXPECT_GT(coloured_pixels(matrix), 100u * 12u * 12u / 2);  // the shaded diagonal at least
  cnn::plot_predictions(path("hundred-grid.png"),
                        uniform_images(100, 3, 32, 32, {30, 120, 220}, 100, 3), 10, "hundred",
                        names);
}

TEST_F(PlotsTest, RefusesImagesAndNamesThatDoNotFit) {
  auto images = uniform_images(2, 1, 4, 4, {0});
  images[1].image.pixels.pop_back();  // 15 bytes for 4x4
  EXPECT_THROW(cnn::plot_predictions(path("short.png"), images, 2, "short"), cnn::PlotError);
  images = uniform_images(2, 2, 4, 4, {0});  // two channels
  EXPECT_THROW(cnn::plot_predictions(path("two.png"), images, 2, "two"), cnn::PlotError);
  images = uniform_images(3, 1, 4, 4, {0});  // classes 0, 1, 2 but two names
  try {
    cnn::plot_predictions(path("names.png"), images, 3, "names", {"cat", "dog"});
    FAIL() << "class 2 was drawn without a name";
  } catch (const cnn::PlotError& e) {
    EXPECT_NE(std::string(e.what()).find("names.png: image 2 has class 2"), std::string::npos)
        << e.what();
  }
  const cnn::Evaluation e = cnn::evaluation_from(3, {0, 1, 2}, {0, 1, 2}, {1.0f, 1.0f, 1.0f});
  EXPECT_THROW(cnn::plot_confusion(path("matrix.png"), e, "matrix", {"cat", "dog"}),
               cnn::PlotError);
  EXPECT_FALSE(std::filesystem::exists(path("matrix.png")));
}

TEST_F(PlotsTest, UnwritablePathIsNamed) {
  std::vector<cnn::MetricsRow> rows(2);
  rows[0] = {1, 1, 1.0, 0.1, std::nullopt, 1, 1};
  rows[1] = {2, 1, 0.5, 0.1, 0.5, 1, 1};
  try {
    cnn::plot_loss(path("missing-folder") / "loss.png", rows, "x");
    FAIL() << "no error";
  } catch (const cnn::PlotError& e) {
    EXPECT_NE(std::string(e.what()).find("missing-folder/loss.png"), std::string::npos) << e.what();
  }
}

}  // namespace
