// Evaluation in detail: every prediction of a model on a dataset, the confusion matrix and the
// per-class accuracy, for `cnn eval`, the end of `cnn train` and the pictures of a run.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cnn/core/process_group.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/nn/sequential.hpp"

namespace cnn {

struct Evaluation {
  std::size_t classes = 0;
  // confusion[t * classes + p]: images of true class t predicted as p.
  std::vector<std::size_t> confusion;
  // Per image, in dataset order: the arg-max class and its softmax probability.
  std::vector<std::int32_t> predicted;
  std::vector<float> confidence;
  // images() x classes raw outputs of the model (empty when built by evaluation_from); with
  // test-time augmentation the log of the views' mean softmax probabilities (at least 1e-30),
  // which softmax gives back.
  std::vector<float> logits;

  std::size_t images() const { return predicted.size(); }
  std::size_t correct() const;
  double accuracy() const;
  // Images of class c in the data, and the fraction of them classified as c (0 when none).
  std::size_t class_count(std::size_t c) const;
  double class_accuracy(std::size_t c) const;
  // The matrix as text: a header row of predicted classes, one row per true class with its count
  // and accuracy, e.g. for printing at the end of training. Classes are labelled by
  // class_names (one per class) or, when empty, by their numbers; numbers (or the names
  // "0", "1", ...) give the table of earlier versions byte for byte. A column is as wide as its
  // largest count and the longest name allow, at least 5 and, for names, at most 8 characters; row
  // labels at least 9 and at most 16. A longer name is cut and ends in '.' ("automob."). Widths
  // count UTF-8 characters, not bytes; control characters print as '?'.
  // std::invalid_argument when class_names is neither empty nor one per class.
  std::string confusion_text(const std::vector<std::string>& class_names = {}) const;
  // One line "per-class accuracy: 0: 0.9900 1: 0.9800 ..." (names instead of numbers when
  // given, whole), ending in '\n'; std::invalid_argument as confusion_text.
  std::string class_accuracy_text(const std::vector<std::string>& class_names = {}) const;
};

// `name` cut to at most `width` characters (UTF-8 characters, not bytes; never in the middle of
// one), the last one replaced by '.' when it is cut; control characters become '?'. For tables
// and pictures where a long class name must fit.
std::string shorten_class_name(const std::string& name, std::size_t width);
// The number of UTF-8 characters of text (bytes that do not continue a character).
std::size_t display_width(const std::string& text);

// Throws ShapeError "the model's output [1, 4] does not fit 10 classes" unless the model maps one
// image of data to data.classes() values; training and evaluation check this before they start.
void check_model_fits(Sequential& model, const Dataset& data);

// Test-time augmentation (opt-in): the model sees each image as it is and moved by each of
// `shifts` whole pixels, resampled as training's augmentation moves images (kernels::affine_warp,
// zero outside the image, on the normalised values; a whole-pixel move copies values exactly),
// and the prediction is the arg-max of the mean of the views' softmax probabilities.
struct TestTimeAugmentation {
  // (rows, columns) of each moved view, positive down and right; the unmoved view is always in.
  std::vector<std::array<int, 2>> shifts;

  bool enabled() const { return !shifts.empty(); }
  // Views in all: the unmoved one and one per shift.
  std::size_t views() const { return 1 + shifts.size(); }
  // The image moved `pixels` up, down, left and right (views 5), and also diagonally (views 9).
  // std::invalid_argument for pixels 0 or views other than 5 and 9.
  static TestTimeAugmentation shifted(std::size_t pixels, std::size_t views);
  // "each image and its 4 copies moved 1 pixel up, down, left and right; mean of the softmax"
  std::string describe() const;
};

// Runs the whole dataset through the model (batches of batch_size, inference mode). Each batch
// goes through the network in blocks of fewer images where its activations would not stay in
// the cache; every image's logits are the same bits either way.
// Throws std::invalid_argument for a batch size of 0, ShapeError when the model does not fit.
// With processes (a data-parallel run; every process must call it), each process computes its
// share of whole batches (evaluation_share) and rank 0 gathers the logits: rank 0 returns the
// whole evaluation, exactly one process's, the others an evaluation of no images.
// With tta enabled, each batch runs through the model once per view (TestTimeAugmentation).
Evaluation evaluate_in_detail(Sequential& model, const Dataset& data, std::size_t batch_size = 100,
                              ProcessGroup* processes = nullptr,
                              const TestTimeAugmentation& tta = {});

// Builds an Evaluation from labels and predictions made elsewhere (for example read back from a
// run folder); throws std::invalid_argument when the sizes differ or a class is out of range.
Evaluation evaluation_from(std::size_t classes, const std::vector<std::int32_t>& labels,
                           const std::vector<std::int32_t>& predicted,
                           const std::vector<float>& confidence);

}  // namespace cnn
