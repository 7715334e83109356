// --data's formats (src/data/data_source.cpp): each found and loaded, the same images through
// every loader, the stratified validation split, class names matched between data and model.
#include "cnn/data/data_source.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "assertions.hpp"
#include "cnn/data/cifar.hpp"
#include "cnn/data/csv.hpp"
#include "cnn/data/idx.hpp"
#include "cnn/data/image.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::Contains;
using cnn::testing::error_message;

class DataSourceTest : public cnn::testing::TempDirTest {
 protected:
  DataSourceTest() : TempDirTest("cnn-data-source-test") {}

  // count grey h x w images of `classes` classes, image i of class i % classes, pixels from i.
  static cnn::LabelledImages images(std::size_t count, std::size_t classes, std::size_t h = 4,
                                    std::size_t w = 3, std::size_t channels = 1) {
    cnn::LabelledImages result{
        cnn::Shape{channels, h, w}, {}, {}, cnn::numbered_class_names(classes)};
    for (std::size_t i = 0; i < count; ++i) {
      for (std::size_t k = 0; k < channels * h * w; ++k) {
        result.pixels.push_back(static_cast<std::uint8_t>((i * 37 + k * 11) % 256));
      }
      result.labels.push_back(static_cast<std::uint8_t>(i % classes));
    }
    return result;
  }

  static void write_idx(const fs::path& dir, const cnn::LabelledImages& train,
                        const cnn::LabelledImages& test) {
    fs::create_directories(dir);
    const auto put = [&](const std::string& prefix, const cnn::LabelledImages& part) {
      cnn::IdxImages idx{part.size(), part.image[1], part.image[2], part.pixels};
      cnn::write_idx_images(dir / (prefix + "-images-idx3-ubyte"), idx, false);
      cnn::write_idx_labels(dir / (prefix + "-labels-idx1-ubyte"), part.labels, true);
    };
    put("train", train);
    put("t10k", test);
  }

  // DIR/<part>/<class name>/<index>.png, one file per image.
  static void write_folders(const fs::path& dir, const std::string& part,
                            const cnn::LabelledImages& set) {
    const std::size_t bytes = set.image.numel();
    for (std::size_t i = 0; i < set.size(); ++i) {
      const fs::path folder = dir / part / set.class_names[set.labels[i]];
      fs::create_directories(folder);
      char name[32];
      std::snprintf(name, sizeof name, "%05zu.png", i);
      cnn::write_png(folder / name,
                     cnn::Image{set.image[0], set.image[1], set.image[2],
                                std::vector<std::uint8_t>(set.pixels.begin() + i * bytes,
                                                          set.pixels.begin() + (i + 1) * bytes)});
    }
  }
};

// The images and labels of a dataset as (label name, pixels) pairs, sorted: one canonical order.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> canonical(const cnn::Dataset& d) {
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> items;
  for (std::size_t i = 0; i < d.size(); ++i) {
    items.push_back({d.class_names()[static_cast<std::size_t>(d.label(i))],
                     std::vector<std::uint8_t>(d.image(i), d.image(i) + d.image_bytes())});
  }
  std::sort(items.begin(), items.end());
  return items;
}

TEST_F(DataSourceTest, IdxCsvAndImageFoldersGiveTheSameImagesAndLabels) {
  const cnn::LabelledImages train = images(30, 3), test = images(9, 3);
  write_idx(path("idx"), train, test);
  fs::create_directories(path("csv"));
  cnn::write_csv(path("csv/train.csv"), train, true);
  cnn::write_csv(path("csv/test.csv"), test, false);
  write_folders(path("png"), "train", train);
  write_folders(path("png"), "test", test);

  const cnn::DataOptions options;
  cnn::DataOptions csv_options;  // 4x3 rows are not square: the shape is given
  csv_options.height = 4;
  csv_options.width = 3;
  const cnn::DataSource idx = cnn::load_data_source(path("idx"), options);
  const cnn::DataSource csv = cnn::load_data_source(path("csv"), csv_options);
  cnn::DataOptions no_cache = options;
  const cnn::DataSource png = cnn::load_data_source(path("png"), no_cache);
  EXPECT_EQ(idx.format, cnn::DataFormat::idx);
  EXPECT_EQ(csv.format, cnn::DataFormat::csv);
  EXPECT_EQ(png.format, cnn::DataFormat::image_folders);
  for (const cnn::DataSource* source : {&idx, &csv, &png}) {
    SCOPED_TRACE(source->description);
    ASSERT_TRUE(source->test.has_value());
    EXPECT_EQ(source->train.image_shape(), (cnn::Shape{1, 4, 3}));
    EXPECT_EQ(canonical(source->train), canonical(idx.train));
    EXPECT_EQ(canonical(*source->test), canonical(*idx.test));
  }
  // IDX and CSV keep the files' order; folders are in (class, file name) order.
  for (std::size_t i = 0; i < train.size(); ++i) {
    EXPECT_EQ(csv.train.label(i), idx.train.label(i));
    EXPECT_TRUE(std::equal(csv.train.image(i), csv.train.image(i) + 12, idx.train.image(i)));
  }
}

TEST_F(DataSourceTest, CifarBatchesAreFoundWithTheirNames) {
  const fs::path dir = path("cifar");
  fs::create_directories(dir);
  cnn::LabelledImages batch = images(4, 10, 32, 32, 3);
  for (int b = 1; b <= 5; ++b) {
    cnn::write_cifar_batch(dir / ("data_batch_" + std::to_string(b) + ".bin"), batch);
  }
  cnn::write_cifar_batch(dir / "test_batch.bin", images(3, 10, 32, 32, 3));
  const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                          "dog",      "frog",       "horse", "ship", "truck"};
  cnn::write_cifar_names(dir / "batches.meta.txt", names);
  const cnn::DataSource source = cnn::load_data_source(dir, {});
  EXPECT_EQ(source.format, cnn::DataFormat::cifar10);
  EXPECT_EQ(source.train.size(), 20u);
  EXPECT_EQ(source.train.image_shape(), (cnn::Shape{3, 32, 32}));
  EXPECT_EQ(source.train.class_names(), names);
  EXPECT_EQ(source.test->size(), 3u);
  // --channels 1 turns them grey by luminance.
  cnn::DataOptions grey;
  grey.channels = 1;
  EXPECT_EQ(cnn::load_data_source(dir, grey).train.image_shape(), (cnn::Shape{1, 32, 32}));
}

TEST_F(DataSourceTest, IdxOfOtherSizesAndClassCountsWithNamesFromAFile) {
  write_idx(path("idx"), images(26, 13, 5, 7), images(13, 13, 5, 7));
  {
    std::ofstream names(path("idx/class-names.txt"));
    for (int c = 0; c < 13; ++c) names << "class " << c << (c % 2 ? "\r\n" : "\n");
  }
  const cnn::DataSource source = cnn::load_data_source(path("idx"), {});
  EXPECT_EQ(source.train.image_shape(), (cnn::Shape{1, 5, 7}));
  EXPECT_EQ(source.train.classes(), 13u);
  EXPECT_EQ(source.train.class_names()[12], "class 12");
  EXPECT_TRUE(Contains(source.description, "class-names.txt"));
  // A names file with fewer names than the labels need.
  {
    std::ofstream names(path("idx/class-names.txt"));
    names << "a\nb\n";
  }
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_data_source(path("idx"), {}); }),
               "is out of range for the 2 classes of " + path("idx/class-names.txt").string()));
}

TEST_F(DataSourceTest, AFolderOfNothingKnownSaysWhatWasLookedFor) {
  fs::create_directories(path("empty/notes"));
  std::ofstream(path("empty/readme.txt")) << "hello\n";
  const std::string message =
      error_message<cnn::DataError>([&] { cnn::load_data_source(path("empty"), {}); });
  for (const char* looked_for : {"not a data set cnn recognises", "train-images-idx3-ubyte",
                                 "data_batch_1.bin", "train.csv", "train/<class>/"}) {
    EXPECT_TRUE(Contains(message, looked_for)) << message;
  }
  std::ofstream(path("model.bin")) << "x";
  EXPECT_TRUE(
      Contains(error_message<cnn::DataError>([&] { cnn::load_data_source(path("model.bin"), {}); }),
               "a file must be a CSV"));
  EXPECT_FALSE(cnn::detect_data_format(path("missing")).has_value());
}

TEST(StratifiedSplit, HoldsOutEachClassInProportionReproducibly) {
  // 80 images of class 0 then 20 of class 1: the last 10 would all be class 1.
  cnn::LabelledImages sorted{cnn::Shape{1, 1, 1}, {}, {}, {"a", "b"}};
  for (int i = 0; i < 100; ++i) {
    sorted.pixels.push_back(static_cast<std::uint8_t>(i));
    sorted.labels.push_back(i < 80 ? 0 : 1);
  }
  const cnn::Dataset data(sorted);
  const cnn::StratifiedSplit split = cnn::split_stratified(data, 10, 1);
  EXPECT_EQ(split.train.size(), 90u);
  EXPECT_EQ(cnn::class_counts(split.validation), (std::vector<std::size_t>{8, 2}));
  EXPECT_EQ(cnn::class_counts(split.train), (std::vector<std::size_t>{72, 18}));
  // Every image in exactly one part, each part in the data's order.
  std::vector<int> seen;
  for (const cnn::Dataset* part : {&split.train, &split.validation}) {
    for (std::size_t i = 0; i < part->size(); ++i) {
      if (i > 0) {
        EXPECT_LT(*part->image(i - 1), *part->image(i));
      }
      seen.push_back(*part->image(i));
    }
  }
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
  // The same seed, the same split; another seed, another.
  const cnn::StratifiedSplit again = cnn::split_stratified(data, 10, 1);
  const cnn::StratifiedSplit other = cnn::split_stratified(data, 10, 2);
  bool differs = false;
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(*again.validation.image(i), *split.validation.image(i));
    differs = differs || *other.validation.image(i) != *split.validation.image(i);
  }
  EXPECT_TRUE(differs);
  EXPECT_THROW(cnn::split_stratified(data, 100, 1), cnn::DataError);
}

TEST(RelabelFor, MatchesClassesByNameAndNamesTheUnknownOnes) {
  const cnn::Dataset test(
      cnn::LabelledImages{cnn::Shape{1, 1, 1}, {1, 2, 3}, {0, 1, 1}, {"dog", "cat"}});
  const cnn::Dataset relabelled = cnn::relabel_for(test, {"bird", "cat", "dog"}, "test/");
  EXPECT_EQ(relabelled.class_names(), (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ(relabelled.label(0), 2);
  EXPECT_EQ(relabelled.label(1), 1);
  EXPECT_EQ(*relabelled.image(2), 3);
  EXPECT_TRUE(Contains(error_message<cnn::DataError>([&] {
                         cnn::relabel_for(test, {"bird", "cat"}, "test/");
                       }),
                       "test/: class dog is not among the model's classes (bird, cat)"));
  // Numbered classes fit a model of as many or more numbered classes.
  const cnn::Dataset digits(
      cnn::LabelledImages{cnn::Shape{1, 1, 1}, {1}, {3}, cnn::numbered_class_names(10)});
  EXPECT_EQ(cnn::relabel_for(digits, cnn::numbered_class_names(12), "x").label(0), 3);
  EXPECT_TRUE(cnn::digit_classes(cnn::numbered_class_names(10)));
  EXPECT_FALSE(cnn::digit_classes(cnn::numbered_class_names(11)));
}

TEST(DatasetSelect, CopiesTheChosenImagesInOrder) {
  const cnn::Dataset data(
      cnn::LabelledImages{cnn::Shape{2, 1, 1}, {1, 2, 3, 4, 5, 6}, {0, 1, 0}, {"x", "y"}});
  const std::uint32_t picks[] = {2, 0};
  const cnn::Dataset picked = data.select(picks);
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(picked.image(0)[0], 5);
  EXPECT_EQ(picked.image(0)[1], 6);
  EXPECT_EQ(picked.image(1)[1], 2);
  EXPECT_EQ(picked.class_names(), data.class_names());
  const std::uint32_t bad[] = {3};
  EXPECT_THROW(data.select(bad), std::out_of_range);
  EXPECT_EQ(data.select({}).size(), 0u);
}

}  // namespace
