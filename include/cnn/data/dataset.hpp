// Dataset: labelled images of C channels kept as bytes (C·H·W bytes each, planar), converted to
// float batches on demand by the dataset's input normalisation. Slices share the storage, so a
// validation split costs no copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cnn/core/tensor.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/data/normalization.hpp"

namespace cnn {

// Labels are one byte each: at most this many classes.
inline constexpr std::size_t kMaxClasses = 256;

// Images and labels as a loader read them, before they become a Dataset.
struct LabelledImages {
  Shape image;                           // [C, H, W] of every image
  std::vector<std::uint8_t> pixels;      // image after image, each planar (channel after channel)
  std::vector<std::uint8_t> labels;      // one class index per image
  std::vector<std::string> class_names;  // one per class: their number is the class count

  std::size_t size() const { return labels.size(); }
};

// "0", "1", ..., the names of classes known only by number (IDX, a CSV's numeric labels).
std::vector<std::string> numbered_class_names(std::size_t classes);

class Dataset {
 public:
  Dataset() = default;
  // Throws DataError when there are no images, when pixel/label counts disagree, when the image
  // shape is not [C, H, W] of non-zero sizes, when there are no class names or more than
  // kMaxClasses, or when a label is ≥ the number of classes.
  explicit Dataset(LabelledImages images);
  // Grey images (1 channel) of classes named "0", "1", ... (IDX files).
  Dataset(std::vector<std::uint8_t> pixels, std::vector<std::uint8_t> labels, std::size_t rows,
          std::size_t cols, std::size_t classes);

  std::size_t size() const { return count_; }
  std::size_t channels() const { return channels_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t classes() const { return classes_; }
  const std::vector<std::string>& class_names() const;
  // [channels, rows, cols]
  Shape image_shape() const { return Shape{channels_, rows_, cols_}; }
  // Bytes of one image: channels·rows·cols.
  std::size_t image_bytes() const { return channels_ * rows_ * cols_; }
  // Image i: channels planes of rows·cols bytes.
  const std::uint8_t* image(std::size_t i) const;
  std::int32_t label(std::size_t i) const;

  // How gather turns bytes into floats (unit, pixel / 255, unless set).
  const Normalization& normalization() const { return normalization_; }
  // This dataset (sharing its storage) normalised as given; std::invalid_argument when the
  // normalisation holds statistics for another number of channels.
  Dataset with_normalization(Normalization normalization) const;
  // Images at `indices`, in that order, copied into a dataset of their own (same classes and
  // normalisation). Throws std::out_of_range for an index ≥ size().
  Dataset select(std::span<const std::uint32_t> indices) const;

  // Images [begin, begin + count) as a dataset sharing this one's storage.
  // Throws std::out_of_range when the range does not fit.
  Dataset slice(std::size_t begin, std::size_t count) const;

  // x := images[indices] normalised as [indices.size(), channels, rows, cols] (resized);
  // labels := their labels.
  void gather(std::span<const std::uint32_t> indices, Tensor& x,
              std::vector<std::int32_t>& labels) const;
  // Same for the contiguous range [begin, begin + count).
  void gather_range(std::size_t begin, std::size_t count, Tensor& x,
                    std::vector<std::int32_t>& labels) const;
  // Asks the processor to start loading images[indices]' pixels into its caches, and returns at
  // once; nothing else changes. The training loop names the next batch before it computes this
  // one, so that the next gather, whose images lie at random in a store larger than the caches,
  // does not wait for memory. Indices out of range are skipped.
  void prefetch(std::span<const std::uint32_t> indices) const;

 private:
  struct Storage {
    std::vector<std::uint8_t> pixels, labels;
    std::vector<std::string> class_names;
  };
  std::shared_ptr<const Storage> storage_;
  std::size_t begin_ = 0, count_ = 0, channels_ = 1, rows_ = 0, cols_ = 0, classes_ = 0;
  Normalization normalization_;
};

// Reads an image file and a label file (raw or .gz) into a dataset; throws DataError naming the
// file for every problem read_idx_* reports, and naming both files when the counts differ.
Dataset load_idx_dataset(const std::filesystem::path& images, const std::filesystem::path& labels,
                         std::size_t classes = 10);

struct MnistSplits {
  Dataset train, test;
};
// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte from dir, each raw or with a .gz suffix. Throws DataError naming the
// missing file and how to fetch the data (scripts/fetch-mnist.sh).
MnistSplits load_mnist(const std::filesystem::path& dir, std::size_t classes = 10);
// Only the test files (t10k-*), for evaluating a trained model.
Dataset load_mnist_test(const std::filesystem::path& dir, std::size_t classes = 10);

}  // namespace cnn
