#include "cnn/data/dataset.hpp"

#include <gtest/gtest.h>

#include "assertions.hpp"

#include <unistd.h>
#include "temp_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/core/tensor.hpp"
#include "cnn/data/idx.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

using cnn::testing::Contains;
using cnn::testing::error_message;

// Three 2x3 images whose pixels say which image they belong to: image i holds 10·i + j, except
// image 0, which holds the values the scaling test checks.
cnn::Dataset three_images() {
  Bytes pixels = {0, 255, 51, 102, 153, 204};
  for (std::uint8_t i = 1; i < 3; ++i) {
    for (std::uint8_t j = 0; j < 6; ++j) pixels.push_back(static_cast<std::uint8_t>(10 * i + j));
  }
  return cnn::Dataset(pixels, Bytes{7, 3, 9}, 2, 3, 10);
}

cnn::IdxImages idx_images(std::size_t count, std::size_t rows, std::size_t cols,
                          std::uint8_t first) {
  cnn::IdxImages images;
  images.count = count;
  images.rows = rows;
  images.cols = cols;
  for (std::size_t i = 0; i < count * rows * cols; ++i) {
    images.pixels.push_back(static_cast<std::uint8_t>(first + i));
  }
  return images;
}

class DatasetTest : public cnn::testing::TempDirTest {
 protected:
  DatasetTest() : TempDirTest("cnn-dataset-test") {}

  // Small fake MNIST files: 4 training and 2 test images of 4x3, some of them gzip-compressed.
  void write_fake_mnist() {
    cnn::write_idx_images(path("train-images-idx3-ubyte"), idx_images(4, 4, 3, 0), false);
    cnn::write_idx_labels(path("train-labels-idx1-ubyte.gz"), Bytes{5, 0, 4, 1}, true);
    cnn::write_idx_images(path("t10k-images-idx3-ubyte.gz"), idx_images(2, 4, 3, 100), true);
    cnn::write_idx_labels(path("t10k-labels-idx1-ubyte"), Bytes{7, 2}, false);
  }
};

TEST_F(DatasetTest, ConstructorKeepsShapeAndLabels) {
  const cnn::Dataset data = three_images();
  EXPECT_EQ(data.size(), 3u);
  EXPECT_EQ(data.rows(), 2u);
  EXPECT_EQ(data.cols(), 3u);
  EXPECT_EQ(data.classes(), 10u);
  EXPECT_EQ(data.image_shape(), (cnn::Shape{1, 2, 3}));
  EXPECT_EQ(data.label(0), 7);
  EXPECT_EQ(data.label(2), 9);
  EXPECT_EQ(data.image(1)[0], 10);
  EXPECT_EQ(data.image(2)[5], 25);
  EXPECT_THROW(data.image(3), std::out_of_range);
  EXPECT_THROW(data.label(3), std::out_of_range);
  EXPECT_EQ(cnn::Dataset().size(), 0u);
}

TEST_F(DatasetTest, ConstructorRejectsBadData) {
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([] { cnn::Dataset({}, {}, 2, 2, 10); }), "no images"));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([] {
                         cnn::Dataset(Bytes(10), Bytes{1, 2}, 2, 2, 10);
                       }),
                       "10 pixel bytes are not a whole number of 2x2 images"));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([] {
                         cnn::Dataset(Bytes(12), Bytes{1, 2}, 2, 2, 10);
                       }),
                       "3 images but 2 labels"));
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([] {
                         cnn::Dataset(Bytes(12), Bytes{1, 2, 10}, 2, 2, 10);
                       }),
                       "label 10 at index 2 is out of range for 10 classes"));
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([] { cnn::Dataset(Bytes(12), Bytes{1}, 0, 2, 10); }),
               "images of 0x2 pixels are empty"));
}

TEST_F(DatasetTest, GatherScalesPixelsAndFollowsTheIndices) {
  const cnn::Dataset data = three_images();
  cnn::Tensor x;
  std::vector<std::int32_t> labels;
  const std::vector<std::uint32_t> indices = {2, 0, 2};
  data.gather(indices, x, labels);

  ASSERT_EQ(x.shape(), (cnn::Shape{3, 1, 2, 3}));
  EXPECT_EQ(labels, (std::vector<std::int32_t>{9, 7, 9}));
  // Image 0 sits at position 1.
  EXPECT_EQ(x.at(1, 0, 0, 0), 0.0f);
  EXPECT_EQ(x.at(1, 0, 0, 1), 1.0f);
  EXPECT_FLOAT_EQ(x.at(1, 0, 0, 2), 0.2f);
  EXPECT_FLOAT_EQ(x.at(1, 0, 1, 0), 0.4f);
  EXPECT_FLOAT_EQ(x.at(1, 0, 1, 2), 0.8f);
  // Image 2 at positions 0 and 2, row-major.
  for (const std::size_t n : {0u, 2u}) {
    for (std::size_t j = 0; j < 6; ++j) {
      EXPECT_EQ(x.at(n, 0, j / 3, j % 3), static_cast<float>(20 + j) / 255.0f) << n << "," << j;
    }
  }

  // The same tensor, reused for a smaller batch, takes the new shape.
  data.gather(std::vector<std::uint32_t>{1}, x, labels);
  EXPECT_EQ(x.shape(), (cnn::Shape{1, 1, 2, 3}));
  EXPECT_EQ(labels, (std::vector<std::int32_t>{3}));
  EXPECT_EQ(x[5], 15.0f / 255.0f);
}

TEST_F(DatasetTest, GatherRejectsIndicesOutOfRange) {
  const cnn::Dataset data = three_images();
  cnn::Tensor x;
  std::vector<std::int32_t> labels;
  EXPECT_THROW(data.gather(std::vector<std::uint32_t>{0, 3}, x, labels), std::out_of_range);
  // Indices are relative to a slice, so index 2 of a two-image slice is out of range too.
  EXPECT_THROW(data.slice(1, 2).gather(std::vector<std::uint32_t>{2}, x, labels),
               std::out_of_range);
}

TEST_F(DatasetTest, PrefetchSkipsIndicesOutOfRangeAndChangesNothing) {
  // A slice, so that an index past its end still lies inside the storage it shares.
  const cnn::Dataset data = three_images().slice(1, 2);
  cnn::Tensor before, after;
  std::vector<std::int32_t> labels_before, labels_after;
  data.gather(std::vector<std::uint32_t>{1, 0}, before, labels_before);
  EXPECT_NO_THROW(data.prefetch(std::vector<std::uint32_t>{1, 2, 0, 4'000'000'000u}));
  EXPECT_NO_THROW(data.prefetch({}));
  data.gather(std::vector<std::uint32_t>{1, 0}, after, labels_after);
  EXPECT_EQ(labels_after, labels_before);
  ASSERT_EQ(after.shape(), before.shape());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i], before[i]) << i;
}

TEST_F(DatasetTest, GatherRange) {
  const cnn::Dataset data = three_images();
  cnn::Tensor x;
  std::vector<std::int32_t> labels;
  data.gather_range(1, 2, x, labels);
  ASSERT_EQ(x.shape(), (cnn::Shape{2, 1, 2, 3}));
  EXPECT_EQ(labels, (std::vector<std::int32_t>{3, 9}));
  EXPECT_EQ(x.at(0, 0, 0, 0), 10.0f / 255.0f);
  EXPECT_EQ(x.at(1, 0, 1, 2), 25.0f / 255.0f);

  data.gather_range(3, 0, x, labels);
  EXPECT_EQ(x.shape(), (cnn::Shape{0, 1, 2, 3}));
  EXPECT_TRUE(labels.empty());
  EXPECT_THROW(data.gather_range(2, 2, x, labels), std::out_of_range);
}

TEST_F(DatasetTest, SliceSharesStorageAndIndexesFromItsStart) {
  const cnn::Dataset data = three_images();
  const cnn::Dataset tail = data.slice(1, 2);
  EXPECT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail.rows(), 2u);
  EXPECT_EQ(tail.cols(), 3u);
  // Same bytes, not a copy.
  EXPECT_EQ(tail.image(0), data.image(1));
  EXPECT_EQ(tail.image(1), data.image(2));
  EXPECT_EQ(tail.label(0), 3);
  EXPECT_EQ(tail.label(1), 9);
  EXPECT_THROW(tail.image(2), std::out_of_range);

  const cnn::Dataset last = tail.slice(1, 1);
  EXPECT_EQ(last.size(), 1u);
  EXPECT_EQ(last.image(0), data.image(2));
  cnn::Tensor x;
  std::vector<std::int32_t> labels;
  last.gather_range(0, 1, x, labels);
  EXPECT_EQ(labels, (std::vector<std::int32_t>{9}));
  EXPECT_EQ(x[0], 20.0f / 255.0f);
}

TEST_F(DatasetTest, SliceOutOfRangeThrows) {
  const cnn::Dataset data = three_images();
  EXPECT_THROW(data.slice(2, 2), std::out_of_range);
  EXPECT_THROW(data.slice(4, 0), std::out_of_range);
  // begin + count would wrap around to a small number.
  EXPECT_THROW(data.slice(2, std::numeric_limits<std::size_t>::max()), std::out_of_range);
  EXPECT_THROW(data.slice(1, 2).slice(1, 2), std::out_of_range);
  EXPECT_EQ(data.slice(3, 0).size(), 0u);
}

TEST_F(DatasetTest, LoadIdxDataset) {
  cnn::write_idx_images(path("images"), idx_images(3, 2, 5, 1), false);
  cnn::write_idx_labels(path("labels.gz"), Bytes{4, 0, 9}, true);
  const cnn::Dataset data = cnn::load_idx_dataset(path("images"), path("labels.gz"));
  EXPECT_EQ(data.size(), 3u);
  EXPECT_EQ(data.rows(), 2u);
  EXPECT_EQ(data.cols(), 5u);
  EXPECT_EQ(data.label(2), 9);
  EXPECT_EQ(data.image(1)[0], 11);
}

TEST_F(DatasetTest, LoadIdxDatasetNamesBothFilesWhenCountsDiffer) {
  cnn::write_idx_images(path("x-images"), idx_images(3, 2, 2, 0), false);
  cnn::write_idx_labels(path("x-labels"), Bytes{1, 2}, false);
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>(
          [&] { cnn::load_idx_dataset(path("x-images"), path("x-labels")); }),
      path("x-images").string() + ": 3 images but " + path("x-labels").string() + ": 2 labels"));
}

TEST_F(DatasetTest, LoadIdxDatasetNamesTheLabelFileForABadLabel) {
  cnn::write_idx_images(path("images"), idx_images(6, 2, 2, 0), false);
  cnn::write_idx_labels(path("labels"), Bytes{0, 1, 2, 3, 4, 12}, false);
  EXPECT_TRUE(Contains(
      error_message<cnn::DataError>([&] { cnn::load_idx_dataset(path("images"), path("labels")); }),
      path("labels").string() + ": label 12 at index 5 is out of range for 10 classes"));
  // With more classes the same files load.
  EXPECT_EQ(cnn::load_idx_dataset(path("images"), path("labels"), 13).classes(), 13u);
}

TEST_F(DatasetTest, LoadIdxDatasetPassesOnFileErrors) {
  cnn::write_idx_labels(path("labels"), Bytes{1}, false);
  EXPECT_TRUE(Contains(error_message<cnn::DataError>(
                           [&] { cnn::load_idx_dataset(path("missing"), path("labels")); }),
                       path("missing").string() + ": no such file"));
}

TEST_F(DatasetTest, LoadMnistMixesRawAndGzipFiles) {
  write_fake_mnist();
  const cnn::MnistSplits splits = cnn::load_mnist(dir_);
  EXPECT_EQ(splits.train.size(), 4u);
  EXPECT_EQ(splits.test.size(), 2u);
  EXPECT_EQ(splits.train.image_shape(), (cnn::Shape{1, 4, 3}));
  EXPECT_EQ(splits.train.label(0), 5);
  EXPECT_EQ(splits.train.label(3), 1);
  EXPECT_EQ(splits.test.label(1), 2);
  EXPECT_EQ(splits.train.image(1)[0], 12);
  EXPECT_EQ(splits.test.image(1)[11], 123);
}

TEST_F(DatasetTest, LoadMnistPrefersTheRawFile) {
  write_fake_mnist();
  // A broken .gz next to a good raw file is never opened.
  std::ofstream(path("train-images-idx3-ubyte.gz")) << "not gzip";
  EXPECT_EQ(cnn::load_mnist(dir_).train.size(), 4u);
}

TEST_F(DatasetTest, LoadMnistReportsAMissingFile) {
  write_fake_mnist();
  fs::remove(path("t10k-labels-idx1-ubyte"));
  const std::string message = error_message<cnn::DataError>([&] { cnn::load_mnist(dir_); });
  EXPECT_TRUE(Contains(message, dir_.string() +
                                    ": MNIST file t10k-labels-idx1-ubyte (or .gz) not found; "
                                    "fetch the data with scripts/fetch-mnist.sh " +
                                    dir_.string()));
}

TEST_F(DatasetTest, LoadMnistReportsAMissingFolder) {
  const fs::path missing = path("no-data-here");
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_mnist(missing); }),
                       missing.string() +
                           ": data folder not found; fetch MNIST with "
                           "scripts/fetch-mnist.sh " +
                           missing.string()));
}

TEST_F(DatasetTest, LoadMnistReportsMismatchedImageSizes) {
  write_fake_mnist();
  cnn::write_idx_images(path("t10k-images-idx3-ubyte.gz"), idx_images(2, 3, 4, 100), true);
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] { cnn::load_mnist(dir_); }),
                       "t10k-images-idx3-ubyte.gz: images of 3x4 but"));
}

// The real data, when scripts/fetch-mnist.sh has put it where the build expects it.
TEST(MnistFiles, LoadWhenPresent) {
#ifndef CNN_MNIST_DIR
  GTEST_SKIP() << "CNN_MNIST_DIR is not defined in this build";
#else
  const fs::path dir = CNN_MNIST_DIR;
  if (!fs::exists(dir / "train-images-idx3-ubyte") &&
      !fs::exists(dir / "train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "no MNIST files in " << dir.string() << "; run scripts/fetch-mnist.sh "
                 << dir.string();
  }
  const cnn::MnistSplits splits = cnn::load_mnist(dir);
  EXPECT_EQ(splits.train.size(), 60000u);
  EXPECT_EQ(splits.test.size(), 10000u);
  EXPECT_EQ(splits.train.image_shape(), (cnn::Shape{1, 28, 28}));
  // The first digits of each split are well known: a 5 and a 7.
  EXPECT_EQ(splits.train.label(0), 5);
  EXPECT_EQ(splits.test.label(0), 7);
#endif
}

}  // namespace
