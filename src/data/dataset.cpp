#include "cnn/data/dataset.hpp"

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace cnn {
namespace {

namespace fs = std::filesystem;

// Index of the first label that is not below `classes`, if any.
std::optional<std::size_t> first_bad_label(const std::vector<std::uint8_t>& labels,
                                           std::size_t classes) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes) return i;
  }
  return std::nullopt;
}

std::string bad_label_text(const std::vector<std::uint8_t>& labels, std::size_t index,
                           std::size_t classes) {
  return "label " + std::to_string(labels[index]) + " at index " + std::to_string(index) +
         " is out of range for " + std::to_string(classes) + " classes";
}

}  // namespace

std::vector<std::string> numbered_class_names(std::size_t classes) {
  std::vector<std::string> names;
  names.reserve(classes);
  for (std::size_t c = 0; c < classes; ++c) names.push_back(std::to_string(c));
  return names;
}

Dataset::Dataset(LabelledImages images) {
  const Shape& shape = images.image;
  if (shape.rank() != 3 || shape[0] == 0 || shape[1] == 0 || shape[2] == 0) {
    throw DataError("images of shape " + shape.to_string() +
                    " are empty or not [channels, rows, cols]");
  }
  channels_ = shape[0];
  rows_ = shape[1];
  cols_ = shape[2];
  classes_ = images.class_names.size();
  if (classes_ == 0) throw DataError("a dataset needs at least 1 class, got 0");
  if (classes_ > kMaxClasses) {
    throw DataError(std::to_string(classes_) + " classes, more than the " +
                    std::to_string(kMaxClasses) + " supported (labels are one byte)");
  }
  if (images.pixels.empty()) throw DataError("no images");
  std::size_t image_size = 0;
  if (__builtin_mul_overflow(rows_, cols_, &image_size) ||
      __builtin_mul_overflow(image_size, channels_, &image_size)) {
    throw DataError("images of " + shape.to_string() + " are too large");
  }
  if (images.pixels.size() % image_size != 0) {
    const std::string size = (channels_ == 1 ? "" : std::to_string(channels_) + "x") +
                             std::to_string(rows_) + "x" + std::to_string(cols_);
    throw DataError(std::to_string(images.pixels.size()) +
                    " pixel bytes are not a whole number of " + size + " images");
  }
  count_ = images.pixels.size() / image_size;
  if (images.labels.size() != count_) {
    throw DataError(std::to_string(count_) + " images but " + std::to_string(images.labels.size()) +
                    " labels");
  }
  if (const auto bad = first_bad_label(images.labels, classes_)) {
    throw DataError(bad_label_text(images.labels, *bad, classes_));
  }
  storage_ = std::make_shared<const Storage>(
      Storage{std::move(images.pixels), std::move(images.labels), std::move(images.class_names)});
}

Dataset::Dataset(std::vector<std::uint8_t> pixels, std::vector<std::uint8_t> labels,
                 std::size_t rows, std::size_t cols, std::size_t classes)
    : Dataset([&] {
        if (rows == 0 || cols == 0) {
          throw DataError("images of " + std::to_string(rows) + "x" + std::to_string(cols) +
                          " pixels are empty");
        }
        if (classes == 0) throw DataError("a dataset needs at least 1 class, got 0");
        return LabelledImages{Shape{1, rows, cols}, std::move(pixels), std::move(labels),
                              numbered_class_names(classes)};
      }()) {}

const std::vector<std::string>& Dataset::class_names() const {
  static const std::vector<std::string> none;
  return storage_ ? storage_->class_names : none;
}

Dataset Dataset::with_normalization(Normalization normalization) const {
  if (!normalization.fits(channels_)) {
    throw std::invalid_argument("a normalisation of " + std::to_string(normalization.channels()) +
                                " channels for images of " + std::to_string(channels_));
  }
  Dataset copy = *this;
  copy.normalization_ = std::move(normalization);
  return copy;
}

Dataset Dataset::select(std::span<const std::uint32_t> indices) const {
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= count_) {
      throw std::out_of_range("select: index " + std::to_string(indices[k]) + " (at position " +
                              std::to_string(k) + ") out of range for a dataset of " +
                              std::to_string(count_));
    }
  }
  const std::size_t bytes = image_bytes();
  LabelledImages picked{image_shape(), {}, {}, class_names()};
  picked.pixels.resize(indices.size() * bytes);
  picked.labels.resize(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::uint8_t* from = image(indices[k]);
    std::copy(from, from + bytes, picked.pixels.data() + k * bytes);
    picked.labels[k] = static_cast<std::uint8_t>(label(indices[k]));
  }
  Dataset result;
  if (!indices.empty()) {
    result = Dataset(std::move(picked));
  } else {
    // An empty selection keeps the shape and classes (the constructor refuses no images).
    result = *this;
    result.count_ = 0;
    result.begin_ = 0;
    return result;
  }
  result.normalization_ = normalization_;
  return result;
}

const std::uint8_t* Dataset::image(std::size_t i) const {
  if (i >= count_) {
    throw std::out_of_range("image " + std::to_string(i) + " out of range for a dataset of " +
                            std::to_string(count_));
  }
  return storage_->pixels.data() + (begin_ + i) * image_bytes();
}

std::int32_t Dataset::label(std::size_t i) const {
  if (i >= count_) {
    throw std::out_of_range("label " + std::to_string(i) + " out of range for a dataset of " +
                            std::to_string(count_));
  }
  return storage_->labels[begin_ + i];
}

Dataset Dataset::slice(std::size_t begin, std::size_t count) const {
  // Written so that begin + count cannot overflow.
  if (begin > count_ || count > count_ - begin) {
    throw std::out_of_range("slice [" + std::to_string(begin) + ", " + std::to_string(begin) +
                            " + " + std::to_string(count) + ") out of range for a dataset of " +
                            std::to_string(count_));
  }
  Dataset part = *this;
  part.begin_ = begin_ + begin;
  part.count_ = count;
  return part;
}

void Dataset::gather(std::span<const std::uint32_t> indices, Tensor& x,
                     std::vector<std::int32_t>& labels) const {
  // Check every index before touching the outputs, so a bad call leaves them as they were.
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= count_) {
      throw std::out_of_range("gather: index " + std::to_string(indices[k]) + " (at position " +
                              std::to_string(k) + ") out of range for a dataset of " +
                              std::to_string(count_));
    }
  }
  const std::size_t image_size = image_bytes();
  x.resize(Shape{indices.size(), channels_, rows_, cols_});
  labels.resize(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::size_t i = begin_ + indices[k];
    normalization_.apply(storage_->pixels.data() + i * image_size, channels_, rows_ * cols_,
                         x.data() + k * image_size);
    labels[k] = storage_->labels[i];
  }
}

void Dataset::prefetch(std::span<const std::uint32_t> indices) const {
  constexpr std::size_t kCacheLine = 64;
  const std::size_t image_size = image_bytes();
  if (image_size == 0) return;
  for (const std::uint32_t index : indices) {
    if (index >= count_) continue;
    const std::uint8_t* image = storage_->pixels.data() + (begin_ + index) * image_size;
    // Every line the image touches, its last byte's included.
    for (std::size_t offset = 0; offset < image_size; offset += kCacheLine) {
      __builtin_prefetch(image + offset);
    }
    __builtin_prefetch(image + image_size - 1);
  }
}

void Dataset::gather_range(std::size_t begin, std::size_t count, Tensor& x,
                           std::vector<std::int32_t>& labels) const {
  if (begin > count_ || count > count_ - begin) {
    throw std::out_of_range("gather_range: [" + std::to_string(begin) + ", " +
                            std::to_string(begin) + " + " + std::to_string(count) +
                            ") out of range for a dataset of " + std::to_string(count_));
  }
  const std::size_t image_size = image_bytes();
  x.resize(Shape{count, channels_, rows_, cols_});
  labels.resize(count);
  if (count == 0) return;
  const std::size_t first = begin_ + begin;
  if (normalization_.kind() != NormalizationKind::standard) {
    // The range is contiguous in storage and the same for every channel: one pass.
    normalization_.apply(storage_->pixels.data() + first * image_size, 1, count * image_size,
                         x.data());
  } else {
    for (std::size_t k = 0; k < count; ++k) {
      normalization_.apply(storage_->pixels.data() + (first + k) * image_size, channels_,
                           rows_ * cols_, x.data() + k * image_size);
    }
  }
  for (std::size_t k = 0; k < count; ++k) labels[k] = storage_->labels[first + k];
}

Dataset load_idx_dataset(const std::filesystem::path& images, const std::filesystem::path& labels,
                         std::size_t classes) {
  IdxImages idx = read_idx_images(images);
  std::vector<std::uint8_t> label_bytes = read_idx_labels(labels);
  // These two checks repeat the constructor's, here with the file names in the message.
  if (idx.count != label_bytes.size()) {
    throw DataError(images.string() + ": " + std::to_string(idx.count) + " images but " +
                    labels.string() + ": " + std::to_string(label_bytes.size()) + " labels");
  }
  if (const auto bad = first_bad_label(label_bytes, classes)) {
    throw DataError(labels.string() + ": " + bad_label_text(label_bytes, *bad, classes));
  }
  try {
    return Dataset(std::move(idx.pixels), std::move(label_bytes), idx.rows, idx.cols, classes);
  } catch (const DataError& e) {
    // Anything else the constructor rejects, attributed to the pair of files.
    throw DataError(images.string() + " and " + labels.string() + ": " + e.what());
  }
}

namespace {

// The file NAME or NAME.gz in dir; DataError (saying how to fetch the data) when the folder or
// both files are missing.
fs::path find_mnist_file(const fs::path& dir, const std::string& name) {
  const std::string fetch = "scripts/fetch-mnist.sh " + dir.string();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    throw DataError(dir.string() + ": data folder not found; fetch MNIST with " + fetch);
  }
  if (!fs::is_directory(dir, ec)) {
    throw DataError(dir.string() + ": not a folder; MNIST needs a folder holding its four files");
  }
  fs::path raw = dir / name;
  if (fs::exists(raw, ec)) return raw;
  fs::path gz = dir / (name + ".gz");
  if (fs::exists(gz, ec)) return gz;
  throw DataError(dir.string() + ": MNIST file " + name +
                  " (or .gz) not found; fetch the data with " + fetch);
}

}  // namespace

MnistSplits load_mnist(const std::filesystem::path& dir, std::size_t classes) {
  // Find all four files before reading any, so a missing one is reported at once.
  const fs::path train_images = find_mnist_file(dir, "train-images-idx3-ubyte");
  const fs::path train_labels = find_mnist_file(dir, "train-labels-idx1-ubyte");
  const fs::path test_images = find_mnist_file(dir, "t10k-images-idx3-ubyte");
  const fs::path test_labels = find_mnist_file(dir, "t10k-labels-idx1-ubyte");

  MnistSplits splits;
  splits.train = load_idx_dataset(train_images, train_labels, classes);
  splits.test = load_idx_dataset(test_images, test_labels, classes);
  // A model trained on one image size cannot evaluate another.
  if (splits.train.rows() != splits.test.rows() || splits.train.cols() != splits.test.cols()) {
    throw DataError(test_images.string() + ": images of " + std::to_string(splits.test.rows()) +
                    "x" + std::to_string(splits.test.cols()) + " but " + train_images.string() +
                    " has " + std::to_string(splits.train.rows()) + "x" +
                    std::to_string(splits.train.cols()));
  }
  return splits;
}

Dataset load_mnist_test(const std::filesystem::path& dir, std::size_t classes) {
  const fs::path images = find_mnist_file(dir, "t10k-images-idx3-ubyte");
  const fs::path labels = find_mnist_file(dir, "t10k-labels-idx1-ubyte");
  return load_idx_dataset(images, labels, classes);
}

}  // namespace cnn
