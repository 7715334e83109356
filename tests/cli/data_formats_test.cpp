// `cnn train --data` with each format it recognises, end to end: image folders in colour with
// class names (through eval, info, predict and the decoded cache), CSV files (and predict --csv),
// CIFAR-10 batches, --skip-bad-images, --normalize standard. Every data set is written here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "cnn/data/cifar.hpp"
#include "cnn/data/csv.hpp"
#include "cnn/data/image.hpp"
#include "cnn/io/model_file.hpp"

namespace {

namespace fs = std::filesystem;
using cnn::testing::CliResult;
using cnn::testing::Contains;
using cnn::testing::run_cli;

// A tiny network that trains in a blink on any input shape.
const std::string kArch = "conv(4,3,pad=1) relu maxpool(2) fc(classes)";

// A w x w colour image: a square of `colour` on a dark background, placed by `seed`.
cnn::Image square(std::size_t w, const std::array<std::uint8_t, 3>& colour, unsigned seed) {
  cnn::Image image{3, w, w, std::vector<std::uint8_t>(3 * w * w, 20)};
  const std::size_t x0 = seed % (w / 2), y0 = (seed / 7) % (w / 2);
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t y = y0; y < y0 + w / 2; ++y) {
      for (std::size_t x = x0; x < x0 + w / 2; ++x) image.pixels[(c * w + y) * w + x] = colour[c];
    }
  }
  return image;
}

class DataFormatsTest : public testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("cnn-data-formats-test-" + std::to_string(getpid()) + "-" + std::to_string(random()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // DIR/train/<colour>/ (40 each) and DIR/test/<colour>/ (10 each): red, green and blue squares
  // of equal luminance would need care; these differ in grey too, which is fine here.
  fs::path colour_folders() {
    const fs::path root = dir_ / "shapes";
    const std::vector<std::pair<std::string, std::array<std::uint8_t, 3>>> classes = {
        {"blue", {30, 30, 230}}, {"green", {30, 200, 30}}, {"red", {230, 30, 30}}};
    for (const auto& [part, count] : {std::pair{"train", 40u}, std::pair{"test", 10u}}) {
      for (const auto& [name, colour] : classes) {
        fs::create_directories(root / part / name);
        for (unsigned i = 0; i < count; ++i) {
          cnn::write_png(root / part / name / (std::to_string(i) + ".PNG"),
                         square(12, colour, i * 13 + (part[1] == 'e' ? 5 : 0)));
        }
      }
    }
    std::ofstream(root / "train" / "red" / ".hidden.png") << "not an image";
    return root;
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(DataFormatsTest, ColourImageFoldersTrainEvalPredictAndInfoByName) {
  const fs::path data = colour_folders();
  const std::string model = path("colour.safetensors"), cache = path("cache");
  const CliResult train = run_cli(
      {"train", "--data", data.string(), "--arch", kArch, "--batch", "8", "--iterations", "60",
       "--lr", "0.05", "--threads", "1", "--cache-dir", cache, "--save", model, "--quiet"},
      dir_);
  ASSERT_EQ(train.status, 0) << train;
  EXPECT_TRUE(Contains(train.out, "data: image folders (train/, test/)")) << train;
  EXPECT_TRUE(Contains(train.out, "3 channels 12x12")) << train;
  EXPECT_TRUE(Contains(train.out, "training images: 3 classes: blue")) << train;
  EXPECT_TRUE(Contains(train.out, "stratified by class")) << train;
  EXPECT_TRUE(Contains(train.out, "predict's preparation: resize")) << train;
  const cnn::LoadedModel loaded = cnn::load_model(model);
  EXPECT_EQ(loaded.info.input, (cnn::Shape{3, 12, 12}));
  EXPECT_EQ(loaded.info.class_names, (std::vector<std::string>{"blue", "green", "red"}));
  EXPECT_EQ(loaded.info.preparation, cnn::Preparation::resize);

  // The second start reads the decoded cache.
  const CliResult eval =
      run_cli({"eval", "--model", model, "--data", data.string(), "--cache-dir", cache}, dir_);
  ASSERT_EQ(eval.status, 0) << eval;
  EXPECT_TRUE(Contains(eval.out, "per-class accuracy: blue: ")) << eval;
  EXPECT_TRUE(Contains(eval.out, "(decoded cache)")) << eval;
  // Squares of three colours: learnt whatever the instruction set's last bits.
  const std::size_t at = eval.out.find("test accuracy ");
  ASSERT_NE(at, std::string::npos) << eval;
  EXPECT_GE(std::stod(eval.out.substr(at + 14, 6)), 0.9) << eval;
  EXPECT_TRUE(Contains(eval.out, "(30 images)")) << eval;

  const CliResult info = run_cli({"info", model}, dir_);
  EXPECT_TRUE(Contains(info.out, "classes: blue, green, red")) << info;
  EXPECT_TRUE(Contains(info.out, "preparation for cnn predict: resize")) << info;

  // A larger picture of a red square, resized to the model's 12x12, colour kept.
  const fs::path picture = dir_ / "red-square.png";
  cnn::write_png(picture, square(48, {230, 30, 30}, 3));
  const CliResult predict = run_cli({"predict", "--model", model, picture.string()}, dir_);
  ASSERT_EQ(predict.status, 0) << predict;
  EXPECT_TRUE(Contains(predict.out, picture.string() + ": red  (red: ")) << predict;
}

TEST_F(DataFormatsTest, ChannelsOneMakesAColourSetGrey) {
  const fs::path data = colour_folders();
  const CliResult train =
      run_cli({"train", "--data", data.string(), "--arch", kArch, "--iterations", "2", "--channels",
               "1", "--image-size", "8x10", "--no-cache", "--quiet"},
              dir_);
  ASSERT_EQ(train.status, 0) << train;
  EXPECT_TRUE(Contains(train.out, "of 1 channel 8x10")) << train;
}

TEST_F(DataFormatsTest, CsvTrainsAndPredictCsvPrintsEveryRow) {
  // 4x4 grey images whose bright row is the class (0..3), Kaggle's header.
  cnn::LabelledImages set{cnn::Shape{1, 4, 4}, {}, {}, cnn::numbered_class_names(4)};
  cnn::LabelledImages unlabelled = set;
  for (std::size_t i = 0; i < 200; ++i) {
    const std::size_t label = i % 4;
    for (std::size_t k = 0; k < 16; ++k) {
      set.pixels.push_back(k / 4 == label ? static_cast<std::uint8_t>(200 + i % 50) : 10);
    }
    set.labels.push_back(static_cast<std::uint8_t>(label));
  }
  cnn::write_csv(dir_ / "train.csv", set, true);
  const std::string model = path("csv.safetensors");
  const CliResult train = run_cli(
      {"train", "--data", path("train.csv"), "--arch", kArch, "--batch", "8", "--iterations", "100",
       "--lr", "0.05", "--save", model, "--quiet", "--normalize", "standard"},
      dir_);
  ASSERT_EQ(train.status, 0) << train;
  EXPECT_TRUE(Contains(train.out, "data: CSV file train.csv")) << train;
  EXPECT_TRUE(Contains(train.out, "no test set")) << train;
  EXPECT_TRUE(Contains(train.out, "standard: x = (pixel / 255 - mean[c]) / std[c]")) << train;
  EXPECT_EQ(cnn::load_model(model).info.normalization.kind(), cnn::NormalizationKind::standard);
  // Kaggle's test.csv: pixels only.
  std::ofstream rows(dir_ / "test.csv");
  rows << "pixel0";
  for (int k = 1; k < 16; ++k) rows << ",pixel" << k;
  rows << "\n";
  for (std::size_t label = 0; label < 4; ++label) {
    for (std::size_t k = 0; k < 16; ++k) rows << (k ? "," : "") << (k / 4 == label ? 230 : 10);
    rows << "\n";
  }
  rows.close();
  const CliResult predict = run_cli({"predict", "--model", model, "--csv", path("test.csv")}, dir_);
  ASSERT_EQ(predict.status, 0) << predict;
  EXPECT_EQ(cnn::testing::lines_of(predict.out).size(), 5u) << predict;
  EXPECT_EQ(predict.out.rfind("row,predicted,name,probability\n1,0,0,", 0), 0u) << predict;
  EXPECT_TRUE(Contains(predict.out, "\n2,1,1,")) << predict;
  EXPECT_TRUE(Contains(predict.out, "\n3,2,2,")) << predict;
  EXPECT_TRUE(Contains(predict.out, "\n4,3,3,")) << predict;
}

TEST_F(DataFormatsTest, CifarBatchesTrainWithTheirClassNames) {
  const fs::path dir = dir_ / "cifar";
  fs::create_directories(dir);
  std::mt19937 random(3);
  const auto batch = [&](std::size_t count) {
    cnn::LabelledImages b{cnn::Shape{3, 32, 32}, {}, {}, cnn::numbered_class_names(10)};
    for (std::size_t i = 0; i < count; ++i) {
      for (std::size_t k = 0; k < 3072; ++k)
        b.pixels.push_back(static_cast<std::uint8_t>(random()));
      b.labels.push_back(static_cast<std::uint8_t>(i % 10));
    }
    return b;
  };
  for (int b = 1; b <= 5; ++b) {
    cnn::write_cifar_batch(dir / ("data_batch_" + std::to_string(b) + ".bin"), batch(20));
  }
  cnn::write_cifar_batch(dir / "test_batch.bin", batch(10));
  cnn::write_cifar_names(dir / "batches.meta.txt", {"airplane", "automobile", "bird", "cat", "deer",
                                                    "dog", "frog", "horse", "ship", "truck"});
  const CliResult train = run_cli({"train", "--data", dir.string(), "--arch", kArch, "--iterations",
                                   "3", "--val", "10", "--quiet"},
                                  dir_);
  ASSERT_EQ(train.status, 0) << train;
  EXPECT_TRUE(Contains(train.out, "data: CIFAR-10 binary batches")) << train;
  EXPECT_TRUE(Contains(train.out, "3 channels 32x32")) << train;
  EXPECT_TRUE(Contains(train.out, "airplane 9, automobile")) << train;
}

TEST_F(DataFormatsTest, SkipBadImagesCountsTheUnreadableOnes) {
  const fs::path data = colour_folders();
  std::ofstream(data / "train" / "green" / "broken.png") << "\x89PNG\r\n\x1a\n no more";
  const CliResult refused = run_cli(
      {"train", "--data", data.string(), "--arch", kArch, "--iterations", "2", "--no-cache"}, dir_);
  EXPECT_EQ(refused.status, 1) << refused;
  EXPECT_TRUE(Contains(refused.err, "broken.png")) << refused;
  const CliResult skipped =
      run_cli({"train", "--data", data.string(), "--arch", kArch, "--iterations", "2", "--no-cache",
               "--skip-bad-images", "--quiet"},
              dir_);
  ASSERT_EQ(skipped.status, 0) << skipped;
  EXPECT_TRUE(Contains(skipped.out, "skipped 1 unreadable image")) << skipped;
  EXPECT_TRUE(Contains(skipped.out, "broken.png")) << skipped;
  EXPECT_TRUE(Contains(skipped.out, "summary: 1 unreadable image skipped")) << skipped;
}

TEST_F(DataFormatsTest, IdxConvertedForTrainingIsConvertedForEvalWhenAsked) {
  const fs::path data = dir_ / "mnist";
  fs::create_directories(data);
  cnn::testing::write_synthetic_mnist(data, 100, 20);
  const std::string model = path("rgb32.safetensors");
  const CliResult train =
      run_cli({"train", "--data", data.string(), "--arch", kArch, "--val", "20", "--iterations",
               "3", "--channels", "3", "--image-size", "32x32", "--save", model, "--quiet"},
              dir_);
  ASSERT_EQ(train.status, 0) << train;
  EXPECT_TRUE(Contains(train.out, "120 images of 3 channels 32x32")) << train;
  const CliResult plain = run_cli({"eval", "--model", model, "--data", data.string()}, dir_);
  EXPECT_EQ(plain.status, 1) << plain;
  EXPECT_TRUE(Contains(plain.err, "give --channels 3 --image-size 32x32")) << plain;
  const CliResult converted = run_cli({"eval", "--model", model, "--data", data.string(),
                                       "--channels", "3", "--image-size", "32x32"},
                                      dir_);
  EXPECT_EQ(converted.status, 0) << converted;
  EXPECT_TRUE(Contains(converted.out, "test accuracy")) << converted;
}

}  // namespace
