#include "cnn/train/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "cnn/core/parallel.hpp"
#include "cnn/nn/softmax_cross_entropy.hpp"
#include "cnn/train/sharding.hpp"
#include "kernels/kernels.hpp"
#include "train/forward_block.hpp"

namespace cnn {

std::size_t Evaluation::correct() const {
  std::size_t sum = 0;
  for (std::size_t c = 0; c < classes; ++c) sum += confusion[c * classes + c];
  return sum;
}

double Evaluation::accuracy() const {
  return images() == 0 ? 0.0 : static_cast<double>(correct()) / static_cast<double>(images());
}

std::size_t Evaluation::class_count(std::size_t c) const {
  std::size_t sum = 0;
  for (std::size_t p = 0; p < classes; ++p) sum += confusion[c * classes + p];
  return sum;
}

double Evaluation::class_accuracy(std::size_t c) const {
  const std::size_t count = class_count(c);
  return count == 0 ? 0.0
                    : static_cast<double>(confusion[c * classes + c]) / static_cast<double>(count);
}

std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (const char ch : text) width += (static_cast<unsigned char>(ch) & 0xC0) != 0x80 ? 1 : 0;
  return width;
}

std::string shorten_class_name(const std::string& name, std::size_t width) {
  // Control characters would break a table's or a caption's line; they become '?'.
  std::string clean;
  clean.reserve(name.size());
  for (const char ch : name) {
    const auto byte = static_cast<unsigned char>(ch);
    clean += (byte < 0x20 || byte == 0x7F) ? '?' : ch;
  }
  if (display_width(clean) <= width) return clean;
  if (width == 0) return {};
  // Keep width − 1 characters and a '.', cutting before the byte that starts character width.
  std::string cut;
  std::size_t characters = 0;
  for (const char ch : clean) {
    const bool starts = (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    if (starts && ++characters > width - 1) break;
    cut += ch;
  }
  return cut + '.';
}

namespace {

// The class labels for text: the given names (one per class) or the numbers.
std::vector<std::string> labels_for(std::size_t classes, const std::vector<std::string>& names) {
  if (!names.empty() && names.size() != classes) {
    throw std::invalid_argument("evaluation: " + std::to_string(names.size()) +
                                " class names for " + std::to_string(classes) +
                                " classes; give one per class or none");
  }
  std::vector<std::string> labels(classes);
  for (std::size_t c = 0; c < classes; ++c) {
    labels[c] = names.empty() ? std::to_string(c) : names[c];
  }
  return labels;
}

// text padded on the left with spaces to `width` characters (nothing when it is as wide).
std::string right_aligned(const std::string& text, std::size_t width) {
  const std::size_t have = display_width(text);
  return std::string(have < width ? width - have : 0, ' ') + text;
}

}  // namespace

std::string Evaluation::confusion_text(const std::vector<std::string>& class_names) const {
  const std::vector<std::string> labels = labels_for(classes, class_names);
  constexpr std::size_t kMinColumn = 5, kMaxColumnName = 8, kMinRowLabel = 9, kMaxRowLabel = 16;
  std::size_t longest = 0, largest = 0;
  for (const std::string& label : labels) longest = std::max(longest, display_width(label));
  for (const std::size_t count : confusion) largest = std::max(largest, count);
  const std::size_t column =
      std::max({kMinColumn, std::min(longest, kMaxColumnName), std::to_string(largest).size()});
  const std::size_t row_label = std::max(kMinRowLabel, std::min(longest, kMaxRowLabel));

  std::string text = "confusion matrix (rows: true class, columns: predicted class)\n";
  text += "true\\pred" + std::string(row_label - kMinRowLabel, ' ');
  for (std::size_t p = 0; p < classes; ++p) {
    text += ' ' + right_aligned(shorten_class_name(labels[p], column), column);
  }
  text += "   total  accuracy\n";
  char cell[48];
  for (std::size_t t = 0; t < classes; ++t) {
    text += right_aligned(shorten_class_name(labels[t], row_label), row_label);
    for (std::size_t p = 0; p < classes; ++p) {
      text += ' ' + right_aligned(std::to_string(confusion[t * classes + p]), column);
    }
    std::snprintf(cell, sizeof cell, "  %6zu  %8.4f\n", class_count(t), class_accuracy(t));
    text += cell;
  }
  return text;
}

std::string Evaluation::class_accuracy_text(const std::vector<std::string>& class_names) const {
  const std::vector<std::string> labels = labels_for(classes, class_names);
  std::string text = "per-class accuracy:";
  char cell[32];
  for (std::size_t c = 0; c < classes; ++c) {
    std::snprintf(cell, sizeof cell, ": %.4f", class_accuracy(c));
    text += ' ' + shorten_class_name(labels[c], labels[c].size()) + cell;
  }
  return text + '\n';
}

void check_model_fits(Sequential& model, const Dataset& data) {
  const Shape image = data.image_shape();
  const Shape out = model.output_shape(Shape{1, image[0], image[1], image[2]});
  if (out.rank() != 2 || out[1] != data.classes()) {
    throw ShapeError("the model's output " + out.to_string() + " does not fit " +
                     std::to_string(data.classes()) + " classes");
  }
}

namespace {

// Predictions, confidences and the confusion matrix of logits [images, classes] whose true classes
// are data's labels from `first` on.
void add_predictions(Evaluation& result, const Dataset& data, std::size_t first,
                     const float* logits, std::size_t images) {
  Tensor batch(Shape{images, result.classes}), probs;
  std::copy(logits, logits + images * result.classes, batch.data());
  softmax(batch, probs);
  for (std::size_t n = 0; n < images; ++n) {
    const float* row = probs.data() + n * result.classes;
    const auto best = std::max_element(row, row + result.classes) - row;
    result.predicted.push_back(static_cast<std::int32_t>(best));
    result.confidence.push_back(row[best]);
    ++result.confusion[static_cast<std::size_t>(data.label(first + n)) * result.classes +
                       static_cast<std::size_t>(best)];
  }
}

}  // namespace

TestTimeAugmentation TestTimeAugmentation::shifted(std::size_t pixels, std::size_t views) {
  if (pixels == 0 || pixels > 1000) {
    throw std::invalid_argument("test-time augmentation: a shift of " + std::to_string(pixels) +
                                " pixels; expected 1 to 1000");
  }
  if (views != 5 && views != 9) {
    throw std::invalid_argument("test-time augmentation: " + std::to_string(views) +
                                " views; expected 5 (up, down, left, right) or 9 (and diagonals)");
  }
  const int p = static_cast<int>(pixels);
  TestTimeAugmentation tta;
  tta.shifts = {{-p, 0}, {p, 0}, {0, -p}, {0, p}};
  if (views == 9) tta.shifts.insert(tta.shifts.end(), {{-p, -p}, {-p, p}, {p, -p}, {p, p}});
  return tta;
}

std::string TestTimeAugmentation::describe() const {
  if (!enabled()) return "none";
  const int pixels = std::max(std::abs(shifts[0][0]), std::abs(shifts[0][1]));
  const bool standard =
      pixels > 0 && (views() == 5 || views() == 9) &&
      shifts == TestTimeAugmentation::shifted(static_cast<std::size_t>(pixels), views()).shifts;
  std::string text = "each image and its " + std::to_string(shifts.size()) +
                     (shifts.size() == 1 ? " copy moved " : " copies moved ");
  if (standard) {
    text += std::to_string(pixels) + (pixels == 1 ? " pixel" : " pixels") + " up, down, left" +
            (views() == 9 ? ", right and diagonally" : " and right");
  } else {
    for (std::size_t i = 0; i < shifts.size(); ++i) {
      text += (i == 0 ? "(" : ", (") + std::to_string(shifts[i][0]) + ", " +
              std::to_string(shifts[i][1]) + ")";
    }
    text += " pixels (rows, columns)";
  }
  return text + "; mean of the softmax";
}

namespace {

// logits [count, classes] of the batch x through the model, averaged over tta's views as the log
// of the mean softmax probabilities. view_x, affine, probs and sum are scratch.
void averaged_logits(Sequential& model, const Tensor& x, const TestTimeAugmentation& tta,
                     std::size_t classes, Tensor& view_x, std::vector<float>& affine, Tensor& probs,
                     std::vector<double>& sum, std::vector<float>& logits) {
  const std::size_t count = x.dim(0);
  sum.assign(count * classes, 0.0);
  view_x.resize(x.shape());
  affine.resize(6 * count);
  for (std::size_t view = 0; view < tta.views(); ++view) {
    const Tensor* input = &x;
    if (view > 0) {
      // output(row i, column j) = input(i − rows, j − columns): the image moved down and right.
      const auto [rows, columns] = tta.shifts[view - 1];
      for (std::size_t n = 0; n < count; ++n) {
        float* t = affine.data() + 6 * n;
        t[0] = 1.0f, t[1] = 0.0f, t[2] = static_cast<float>(-columns);
        t[3] = 0.0f, t[4] = 1.0f, t[5] = static_cast<float>(-rows);
      }
      kernels::affine_warp(x.data(), view_x.data(), affine.data(), nullptr, count, x.dim(1),
                           x.dim(2), x.dim(3));
      input = &view_x;
    }
    softmax(model.forward(*input, /*training=*/false), probs);
    for (std::size_t k = 0; k < count * classes; ++k) sum[k] += probs.data()[k];
  }
  // Probabilities under 1e-30 count as 1e-30, so that no logit is −∞ (files and plots take
  // them); softmax of these logits gives the mean back to within that.
  const double views = static_cast<double>(tta.views());
  for (std::size_t k = 0; k < count * classes; ++k) {
    logits.push_back(static_cast<float>(std::log(std::max(sum[k] / views, 1e-30))));
  }
}

}  // namespace

// forward_block (train/forward_block.hpp): on one thread, as many as keep every layer's output
// (and the input) within kForwardBytesPerThread. Layer by layer over a whole batch of 100,
// LeNet-5's activations (63 KB an image) left the cache between layers; over blocks of 8 images,
// one-thread inference ran 1.3x faster (cnn eval --batch 8 against --batch 100). With more
// threads, every layer hands its work out and waits for it, once per block, so each thread
// takes at least kMinImagesPerThread of a block (two threads gained nothing from smaller blocks).
// Each image's logits are the same bits whatever block it is in: every kernel computes an image
// (a row of the linear layers) on its own, in an order that does not depend on the batch.
constexpr std::size_t kForwardBytesPerThread = std::size_t{512} << 10;
constexpr std::size_t kMinImagesPerThread = 32;

std::size_t forward_block(const Sequential& model, const Dataset& data, std::size_t batch_size) {
  const Shape image = data.image_shape();
  Shape shape = Shape{1, image[0], image[1], image[2]};
  std::size_t floats = shape.numel();
  for (std::size_t i = 0; i < model.size(); ++i) {
    shape = model.layer(i).output_shape(shape);
    floats += shape.numel();
  }
  const std::size_t threads = std::max<std::size_t>(1, num_threads());
  std::size_t per_thread = std::max<std::size_t>(1, kForwardBytesPerThread / (floats * 4));
  if (threads > 1) per_thread = std::max(per_thread, kMinImagesPerThread);
  return std::min(batch_size, per_thread * threads);
}

Evaluation evaluate_in_detail(Sequential& model, const Dataset& data, std::size_t batch_size,
                              ProcessGroup* processes, const TestTimeAugmentation& tta) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be positive");
  check_model_fits(model, data);
  const Share share = evaluation_share(data.size(), batch_size, processes);
  Evaluation result;
  result.classes = data.classes();
  result.confusion.assign(result.classes * result.classes, 0);
  std::vector<float> logits;
  logits.reserve(share.count * result.classes);
  Tensor x, view_x, probs;
  std::vector<float> affine;
  std::vector<double> sum;
  std::vector<std::int32_t> labels;
  const std::size_t block = forward_block(model, data, batch_size);
  for (std::size_t begin = share.begin; begin < share.begin + share.count; begin += block) {
    const std::size_t count = std::min(block, share.begin + share.count - begin);
    data.gather_range(begin, count, x, labels);
    if (tta.enabled()) {
      averaged_logits(model, x, tta, result.classes, view_x, affine, probs, sum, logits);
      continue;
    }
    const Tensor& out = model.forward(x, /*training=*/false);
    logits.insert(logits.end(), out.data(), out.data() + out.size());
  }
  // The shares are in rank order, so rank 0 gets the logits in dataset order.
  if (processes != nullptr) {
    logits = processes->gather_to_root(logits);
    if (processes->rank() != 0) return result;
  }
  const std::size_t images = logits.size() / result.classes;
  result.predicted.reserve(images);
  result.confidence.reserve(images);
  // Softmax a batch at a time, as the logits were computed, to keep the scratch small.
  for (std::size_t begin = 0; begin < images; begin += batch_size) {
    const std::size_t count = std::min(batch_size, images - begin);
    add_predictions(result, data, begin, logits.data() + begin * result.classes, count);
  }
  result.logits = std::move(logits);
  return result;
}

Evaluation evaluation_from(std::size_t classes, const std::vector<std::int32_t>& labels,
                           const std::vector<std::int32_t>& predicted,
                           const std::vector<float>& confidence) {
  if (labels.size() != predicted.size() || confidence.size() != predicted.size()) {
    throw std::invalid_argument("evaluation: " + std::to_string(labels.size()) + " labels, " +
                                std::to_string(predicted.size()) + " predictions and " +
                                std::to_string(confidence.size()) + " confidences");
  }
  Evaluation result;
  result.classes = classes;
  result.confusion.assign(classes * classes, 0);
  result.predicted = predicted;
  result.confidence = confidence;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || predicted[i] < 0 || static_cast<std::size_t>(labels[i]) >= classes ||
        static_cast<std::size_t>(predicted[i]) >= classes) {
      throw std::invalid_argument("evaluation: class out of range at image " + std::to_string(i));
    }
    ++result.confusion[static_cast<std::size_t>(labels[i]) * classes +
                       static_cast<std::size_t>(predicted[i])];
  }
  return result;
}

}  // namespace cnn
