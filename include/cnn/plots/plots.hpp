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
  Image image;        // 1 (grey) or 3 (RGB) channels, planar, as a Dataset's image
  int label = 0;      // true class
  int predicted = 0;  // the model's class
  float confidence = 0.0f;
};

// How grey (1-channel) images are drawn. Colour images are always drawn as they are.
enum class GreyDrawing {
  ink_on_paper,  // inverted: white strokes on black (as MNIST stores digits) drawn dark on light
  as_is,         // 0 black, 255 white: Fashion-MNIST, grey photos
};

// A grid of images, `columns` a row, each captioned with its predicted class; wrong predictions
// are framed in red and captioned with the true class too. Classes are named by class_names (one
// per class; numbers when empty, or when the names are the numbers "0", "1", ...: then captions
// read "3 (true 5)" as before names); a name too wide for its cell is cut and ends in '.'. Images
// are drawn in colour when they have 3 channels, grey ones as `grey` says; each is scaled by a
// whole factor to at most 96 pixels a side (28x28 three times, 32x32 three times) or, when larger,
// shrunk to 96 pixels on its longer side; non-square images keep their aspect ratio. Throws
// PlotError for no images or no columns, an image whose pixels do not match its size or whose
// channels are not 1 or 3, class names that are neither empty nor cover every class shown, or a
// file that cannot be written.
void plot_predictions(const std::filesystem::path& path, const std::vector<PredictedImage>& images,
                      std::size_t columns, const std::string& title,
                      const std::vector<std::string>& class_names = {},
                      GreyDrawing grey = GreyDrawing::ink_on_paper);

// The confusion matrix as a heat map (rows: true class, columns: predicted class; shade: fraction
// of the row), every cell with its count (left out when the cells are too small to read, beyond
// about 40 classes), and each class's accuracy at the end of its row. Rows and columns are
// labelled by class_names (numbers when empty; the column labels turned upright when they are
// names or too many to fit side by side); the labels' size follows the cells, long names are cut
// to at most 150 pixels and end in '.'. Up to 10 classes have cells of 60 pixels, more share about
// 600 pixels (at least 12 each: 100 classes make a matrix of 1200). Throws PlotError for an
// empty or inconsistent matrix, class names that are neither empty nor one per class, or a file
// that cannot be written.
void plot_confusion(const std::filesystem::path& path, const Evaluation& evaluation,
                    const std::string& title, const std::vector<std::string>& class_names = {});

}  // namespace cnn
