// The pictures of a run: each is a PNG of the expected size, and broken input is refused. (That
// they are legible is checked by looking at them; see README.)
#include "cnn/plots/plots.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

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
    p.image = {28, 28, std::vector<std::uint8_t>(28 * 28, 0)};
    for (std::size_t y = 6; y < 22; ++y) p.image.pixels[y * 28 + 14] = 255;
    p.label = i % 10;
    p.predicted = i % 7 == 0 ? (i + 1) % 10 : i % 10;
    images.push_back(p);
  }
  cnn::plot_predictions(path("predictions.png"), images, 10, "grid");
  const cnn::GrayImage grid = cnn::read_image(path("predictions.png"));
  EXPECT_EQ(grid.width, 1040u);  // 10 cells of 100 pixels and two margins of 20
  EXPECT_EQ(grid.height, 70u + 20u + 3u * 124u);
  EXPECT_THROW(cnn::plot_predictions(path("none.png"), {}, 10, "none"), cnn::PlotError);

  const cnn::Evaluation e =
      cnn::evaluation_from(3, {0, 1, 2, 2}, {0, 1, 1, 2}, {0.9f, 0.9f, 0.9f, 0.9f});
  cnn::plot_confusion(path("confusion.png"), e, "matrix");
  const cnn::GrayImage matrix = cnn::read_image(path("confusion.png"));
  EXPECT_GT(matrix.width, 3u * 60u);
  EXPECT_GT(coloured_pixels(matrix), 3u * 60u * 60u);  // the shaded cells
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
