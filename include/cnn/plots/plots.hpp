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

namespace cnn {

class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training loss of every logged step (thin line), its exponential moving average (thick line) and
// the validation accuracy of every evaluation (points on a second axis), against iterations.
// Throws PlotError when there is nothing to draw or the file cannot be written.
void plot_loss(const std::filesystem::path& path, const std::vector<MetricsRow>& rows,
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
