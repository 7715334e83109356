// The acceptance test of the three loaders on real data: Fashion-MNIST as IDX files
// (scripts/fetch-fashion-mnist.sh data/fashion), as PNG folders and as CSV files (the same
// script with --folders data/fashion-png --csv data/fashion-csv) gives bit-identical images and
// labels once the images are put in one canonical order. Skips, saying so, when the three forms
// are not there (CI does not fetch Fashion-MNIST; tests/data/data_source_test.cpp checks the
// same on data it writes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "cnn/data/data_source.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(CNN_SOURCE_DIR) / "data";

// (class name, pixels) of every image, sorted: the canonical order. Numbered classes (CSV) are
// named by `names`.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> canonical(
    const cnn::Dataset& data, const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> items;
  items.reserve(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    items.push_back({names[static_cast<std::size_t>(data.label(i))],
                     std::vector<std::uint8_t>(data.image(i), data.image(i) + data.image_bytes())});
  }
  std::sort(items.begin(), items.end());
  return items;
}

TEST(FashionFormats, IdxFoldersAndCsvHoldTheSameImagesAndLabels) {
  const fs::path idx = kData / "fashion", png = kData / "fashion-png", csv = kData / "fashion-csv";
  if (!fs::exists(idx / "train-images-idx3-ubyte") || !fs::exists(png / "train") ||
      !fs::exists(csv / "train.csv") || !fs::exists(idx / "class-names.txt")) {
    GTEST_SKIP() << "Fashion-MNIST in its three forms is not in " << kData
                 << "; make it with scripts/fetch-fashion-mnist.sh data/fashion --folders "
                    "data/fashion-png --csv data/fashion-csv";
  }
  cnn::DataOptions options;  // no cache: the folders are decoded
  const cnn::DataSource from_idx = cnn::load_data_source(idx, options);
  const cnn::DataSource from_png = cnn::load_data_source(png, options);
  const cnn::DataSource from_csv = cnn::load_data_source(csv, options);
  const std::vector<std::string>& names = from_idx.train.class_names();
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names[0], "T-shirt top");
  // The folders' classes are the same names, in sorted order.
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(from_png.train.class_names(), sorted);
  EXPECT_EQ(from_idx.train.size(), 60000u);
  for (const auto& [source, label_names] :
       {std::tuple{&from_png, from_png.train.class_names()}, std::tuple{&from_csv, names}}) {
    SCOPED_TRACE(source->description);
    ASSERT_TRUE(source->test.has_value());
    EXPECT_EQ(source->train.image_shape(), (cnn::Shape{1, 28, 28}));
    EXPECT_TRUE(canonical(source->train, label_names) == canonical(from_idx.train, names));
    EXPECT_TRUE(canonical(*source->test, label_names) == canonical(*from_idx.test, names));
  }
  // The CSV keeps the IDX files' order, image for image.
  for (std::size_t i = 0; i < from_idx.train.size(); ++i) {
    ASSERT_EQ(from_csv.train.label(i), from_idx.train.label(i)) << i;
    ASSERT_TRUE(
        std::equal(from_csv.train.image(i), from_csv.train.image(i) + 784, from_idx.train.image(i)))
        << i;
  }
}

}  // namespace
