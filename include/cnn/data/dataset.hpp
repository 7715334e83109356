// Dataset: labelled grayscale images kept as bytes (1 byte per pixel), converted to float
// batches on demand. Slices share the storage, so a validation split costs no copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "cnn/core/tensor.hpp"
#include "cnn/data/idx.hpp"

namespace cnn {

class Dataset {
 public:
  Dataset() = default;
  // Throws DataError when there are no images, when pixel/label counts disagree, or when a label
  // is ≥ classes.
  Dataset(std::vector<std::uint8_t> pixels, std::vector<std::uint8_t> labels, std::size_t rows,
          std::size_t cols, std::size_t classes);

  std::size_t size() const { return count_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t classes() const { return classes_; }
  // [1, rows, cols]
  Shape image_shape() const { return Shape{1, rows_, cols_}; }
  const std::uint8_t* image(std::size_t i) const;
  std::int32_t label(std::size_t i) const;

  // Images [begin, begin + count) as a dataset sharing this one's storage.
  // Throws std::out_of_range when the range does not fit.
  Dataset slice(std::size_t begin, std::size_t count) const;

  // x := images[indices] scaled to [0, 1] as [indices.size(), 1, rows, cols] (resized);
  // labels := their labels.
  void gather(std::span<const std::uint32_t> indices, Tensor& x,
              std::vector<std::int32_t>& labels) const;
  // Same for the contiguous range [begin, begin + count).
  void gather_range(std::size_t begin, std::size_t count, Tensor& x,
                    std::vector<std::int32_t>& labels) const;

 private:
  struct Storage {
    std::vector<std::uint8_t> pixels, labels;
  };
  std::shared_ptr<const Storage> storage_;
  std::size_t begin_ = 0, count_ = 0, rows_ = 0, cols_ = 0, classes_ = 0;
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
