// The pictures of a training run, drawn with cairo into PNG files: the loss curve, a grid of test
// images with their predicted labels, and the confusion matrix. Part of the cnn_plots library, so
// that the core library does not depend on cairo.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/data/image.hpp"
#include "cnn/io/run_log.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/lr_finder.hpp"

namespace cnn {

class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A logarithmic axis from one power of ten to a higher one, for values that span decades (a loss
// from 2.3 down to 0.01, learning rates from 1e-6 to 1).
struct LogAxis {
  double low = 0.1, high = 1.0;  // powers of ten, low < high

  // The powers of ten just below the smallest and just above the largest finite positive value
  // (at least one decade apart); non-positive and non-finite values are left out, and with none
  // left the axis is [0.1, 1].
  static LogAxis covering(const std::vector<double>& values);
  // Where value lies along the axis: 0 at low, 1 at high, linear in log10(value). Values at or
  // below zero (no logarithm) map to 0, the bottom of the axis, so they stay on the chart.
  double fraction(double value) const;
  // Labelled ticks: every power of ten from low to high; where the axis spans a single decade,
  // also 2 and 5 times it (so that there are labels inside it).
  std::vector<double> major_ticks() const;
  // Unlabelled ticks: 2, 3, ..., 9 times each power of ten inside the axis, less the major ones.
  std::vector<double> minor_ticks() const;
};

// A tick's label as people write the number: "10", "1", "0.1", "0.02", "1e-05", "1e+06".
std::string format_log_tick(double value);

// The moving average that loss.png draws: the mean of the values within half_window places either
// side (a centred window, so the average does not trail a falling curve), the window shrinking
// symmetrically at both ends, where it has fewer neighbours on one side (so the first and last
// values are the raw ones: no start-up lag and no start-up bias). Non-finite values are averaged
// as they are; the caller passes finite ones.
std::vector<double> centred_moving_average(const std::vector<double>& values,
                                           std::size_t half_window);

// Training loss of every logged step (thin line), its centred moving average (thick line), both
// on a logarithmic axis, and the validation accuracy of every evaluation (points on a second,
// linear axis), against iterations. Throws PlotError when there is nothing to draw or the file
// cannot be written.
void plot_loss(const std::filesystem::path& path, const std::vector<MetricsRow>& rows,
               const std::string& title);

// The learning-rate range test (lr_finder.hpp): the loss of every step (thin line) and its moving
// average (thick line) against the learning rate, both axes logarithmic, with the suggested rate
// and the minimum of the average marked. Throws PlotError as plot_loss.
void plot_lr_find(const std::filesystem::path& path, const LrFindResult& result,
                  const std::string& title);

struct PredictedImage {
  GrayImage image;    // white digit on black, as in MNIST
  int label = 0;      // true class
  int predicted = 0;  // the model's class
  float confidence = 0.0f;
};

// A grid of images, `columns` a row, drawn dark on light like ink on paper, each captioned with its
// predicted class; wrong predictions are framed in red and captioned with the true class too.
void plot_predictions(const std::filesystem::path& path, const std::vector<PredictedImage>& images,
                      std::size_t columns, const std::string& title);

// The confusion matrix as a heat map (rows: true class, columns: predicted class; shade: fraction
// of the row), every cell with its count, and each class's accuracy at the end of its row.
void plot_confusion(const std::filesystem::path& path, const Evaluation& evaluation,
                    const std::string& title);

}  // namespace cnn
