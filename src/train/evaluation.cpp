#include "cnn/train/evaluation.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "cnn/nn/softmax_cross_entropy.hpp"
#include "cnn/train/sharding.hpp"

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

Evaluation evaluate_in_detail(Sequential& model, const Dataset& data, std::size_t batch_size,
                              ProcessGroup* processes) {
  if (batch_size == 0) throw std::invalid_argument("batch size must be positive");
  check_model_fits(model, data);
  const Share share = evaluation_share(data.size(), batch_size, processes);
  Evaluation result;
  result.classes = data.classes();
  result.confusion.assign(result.classes * result.classes, 0);
  std::vector<float> logits;
  logits.reserve(share.count * result.classes);
  Tensor x;
  std::vector<std::int32_t> labels;
  for (std::size_t begin = share.begin; begin < share.begin + share.count; begin += batch_size) {
    const std::size_t count = std::min(batch_size, share.begin + share.count - begin);
    data.gather_range(begin, count, x, labels);
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
