// cnn::Model, the high-level API (include/cnn/model.hpp): creating, training with a progress
// callback, saving and loading, predicting on tensors, pixels, images and files, evaluating,
// activations, copies and the errors of each.
#include "cnn/model.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/arch/architecture.hpp"
#include "cnn/core/rng.hpp"
#include "temp_dir.hpp"

namespace cnn {
namespace {

// Two classes of 1x8x8 images: "left" bright on the left half, "right" on the right half, with
// noise, so that a small network learns them in a few dozen steps.
Dataset halves(std::size_t count, std::uint64_t seed) {
  LabelledImages images;
  images.image = Shape{1, 8, 8};
  images.class_names = {"left", "right"};
  Rng rng(seed);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t label = static_cast<std::uint8_t>(i % 2);
    images.labels.push_back(label);
    for (std::size_t y = 0; y < 8; ++y) {
      for (std::size_t x = 0; x < 8; ++x) {
        const bool bright = (x < 4) == (label == 0);
        const double noise = rng.uniform() * 60.0;
        images.pixels.push_back(static_cast<std::uint8_t>(bright ? 190.0 + noise : noise));
      }
    }
  }
  return Dataset(std::move(images));
}

constexpr const char* kSmallNetwork = "conv(4,3,pad=1) relu maxpool(2) fc(classes)";

Model trained_model() {
  Model model = Model::create(kSmallNetwork, Shape{1, 8, 8}, 2, 7, {"left", "right"});
  ModelTrainOptions options;
  options.train.batch_size = 8;
  options.train.iterations = 60;
  options.train.optimizer.learning_rate = 0.05;
  model.train(halves(256, 1), options);
  return model;
}

class ModelFiles : public testing::TempDirTest {
 public:
  ModelFiles() : TempDirTest("cnn-model-test") {}
};

TEST(Model, CreatesFromAPresetOrArchitectureTextWithItsDescription) {
  const Model preset = Model::create("lenet5", Shape{1, 28, 28}, 10);
  EXPECT_EQ(preset.info().preset, "lenet5");
  EXPECT_EQ(preset.classes(), 10u);
  EXPECT_EQ(preset.class_names().front(), "0");
  EXPECT_EQ(preset.info().preparation, Preparation::digit);  // grey 28x28 digits
  EXPECT_EQ(preset.normalization(), Normalization::unit());
  const Model custom = Model::create(kSmallNetwork, Shape{3, 8, 8}, 2, 1, {"cat", "dog"});
  EXPECT_EQ(custom.info().preset, "custom");
  EXPECT_EQ(custom.info().architecture, kSmallNetwork);
  EXPECT_EQ(custom.info().preparation, Preparation::resize);
  EXPECT_EQ(custom.class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(custom.layer_names().front(), "0 " + custom.layer_names().front().substr(2));
  EXPECT_EQ(custom.layer_names().size(), 5u);  // fc flattens through a Flatten layer
  EXPECT_EQ(custom.layer_names()[3].substr(0, 9), "3 Flatten");
}

TEST(Model, RefusesWhatDoesNotFit) {
  EXPECT_THROW(Model::create(kSmallNetwork, Shape{1, 8, 8}, 2, 1, {"only one"}),
               std::invalid_argument);
  EXPECT_THROW(Model::create("conv(4,3) maxpool(", Shape{1, 8, 8}, 2), ArchitectureError);
  EXPECT_THROW(Model::create("fc(3)", Shape{1, 8, 8}, 2), ArchitectureError);
  const Model model = Model::create(kSmallNetwork, Shape{1, 8, 8}, 2);
  try {
    model.predict(Tensor(Shape{2, 1, 8, 9}));
    FAIL() << "a batch of the wrong shape was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[N, 1, 8, 8]"), std::string::npos) << e.what();
  }
  std::vector<std::uint8_t> pixels(64 * 2 - 1);
  EXPECT_THROW(model.predict_pixels(pixels, 2), std::invalid_argument);
  LabelledImages other;
  other.image = Shape{1, 4, 4};
  other.pixels.assign(16, 0);
  other.labels = {0};
  other.class_names = {"a", "b"};
  EXPECT_THROW(model.evaluate(Dataset(std::move(other))), ShapeError);
}

TEST(Model, TrainsReportsValidatesAndLearns) {
  Model model = Model::create(kSmallNetwork, Shape{1, 8, 8}, 2, 7, {"left", "right"});
  const Dataset validation = halves(64, 2);
  ModelTrainOptions options;
  options.train.batch_size = 8;
  options.train.iterations = 60;
  options.train.report_every = 20;
  options.train.optimizer.learning_rate = 0.05;
  options.validation = &validation;
  options.evaluate_every = 30;
  std::vector<std::size_t> reported, validated;
  const TrainResult result = model.train(halves(256, 1), options, [&](const ModelProgress& p) {
    reported.push_back(p.train.iteration);
    if (p.validation_accuracy) validated.push_back(p.train.iteration);
    EXPECT_TRUE(std::isfinite(p.train.loss));
    return true;
  });
  EXPECT_EQ(result.iterations, 60u);
  EXPECT_EQ(reported, (std::vector<std::size_t>{20, 30, 40, 60}));
  EXPECT_EQ(validated, (std::vector<std::size_t>{30, 60}));
  EXPECT_GE(model.evaluate(validation).accuracy(), 0.95);
  EXPECT_EQ(model.info().extra.at("iterations"), "60");
  EXPECT_EQ(model.info().extra.at("batch"), "8");
  EXPECT_TRUE(model.info().extra.contains("validation_accuracy"));
}

TEST(Model, ACallbackReturningFalseStopsTheRun) {
  Model model = Model::create(kSmallNetwork, Shape{1, 8, 8}, 2, 7, {"left", "right"});
  ModelTrainOptions options;
  options.train.batch_size = 8;
  options.train.iterations = 100;
  options.train.report_every = 10;
  const TrainResult result = model.train(
      halves(64, 1), options, [](const ModelProgress& p) { return p.train.iteration < 30; });
  EXPECT_EQ(result.iterations, 30u);
  EXPECT_TRUE(result.stopped_early);
}

TEST(Model, PixelsAreNormalisedAsTheModelWasTrained) {
  const Model model = Model::create(kSmallNetwork, Shape{1, 8, 8}, 2, 3, {},
                                    Normalization::standard({0.25f}, {0.5f}));
  const Dataset data = halves(5, 9);
  std::vector<std::uint8_t> pixels;
  Tensor x(Shape{5, 1, 8, 8});
  for (std::size_t i = 0; i < 5; ++i) {
    pixels.insert(pixels.end(), data.image(i), data.image(i) + 64);
    for (std::size_t j = 0; j < 64; ++j) {
      x.data()[i * 64 + j] = (data.image(i)[j] * (1.0f / 255.0f) - 0.25f) / 0.5f;
    }
  }
  const Predictions from_pixels = model.predict_pixels(pixels, 5);
  const Predictions from_tensor = model.predict(x);
  ASSERT_EQ(from_pixels.size(), 5u);
  EXPECT_EQ(from_pixels.labels, from_tensor.labels);
  for (std::size_t i = 0; i < from_pixels.logits.size(); ++i) {
    EXPECT_NEAR(from_pixels.logits[i], from_tensor.logits[i], 1e-5f);
  }
  for (std::size_t i = 0; i < 5; ++i) {
    float sum = 0;
    for (const float p : from_pixels.probabilities_of(i)) sum += p;
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
    EXPECT_EQ(from_pixels.confidence(i),
              from_pixels.probabilities[i * 2 + static_cast<std::size_t>(from_pixels.labels[i])]);
  }
}

TEST_F(ModelFiles, SavesAndLoadsTheSamePredictionsAndDescription) {
  Model model = trained_model();
  model.save(path("m.safetensors"));
  const Model loaded = Model::load(path("m.safetensors"));
  EXPECT_EQ(loaded.class_names(), (std::vector<std::string>{"left", "right"}));
  EXPECT_EQ(loaded.input_shape(), (Shape{1, 8, 8}));
  EXPECT_EQ(loaded.info().architecture, kSmallNetwork);
  const Dataset data = halves(50, 5);
  const Evaluation a = model.evaluate(data), b = loaded.evaluate(data);
  EXPECT_EQ(a.logits, b.logits);  // bitwise
  EXPECT_GE(a.accuracy(), 0.9);
}

TEST_F(ModelFiles, LoadingAMissingFileNamesIt) {
  try {
    Model::load(path("absent.safetensors"));
    FAIL() << "loaded a missing file";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.safetensors"), std::string::npos) << e.what();
  }
}

TEST(Model, ACopyPredictsTheSameAndIsIndependent) {
  Model model = trained_model();
  Model copy = model.copy();
  const Dataset data = halves(40, 11);
  EXPECT_EQ(model.evaluate(data).logits, copy.evaluate(data).logits);
  ModelTrainOptions options;
  options.train.iterations = 5;
  options.train.optimizer.learning_rate = 0.5;
  copy.train(halves(64, 12), options);
  EXPECT_NE(model.evaluate(data).logits, copy.evaluate(data).logits);
  const Model moved = std::move(copy);  // moves keep the parameter views valid
  EXPECT_EQ(moved.evaluate(data).images(), 40u);
}

TEST(Model, ActivationsAreEveryLayersOutputEndingInTheLogits) {
  const Model model = trained_model();
  Tensor x(Shape{3, 1, 8, 8});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i % 7) / 7.0f;
  const std::vector<Tensor> outputs = model.activations(x);
  ASSERT_EQ(outputs.size(), 5u);  // conv relu maxpool flatten fc
  EXPECT_EQ(outputs[0].shape(), (Shape{3, 4, 8, 8}));
  EXPECT_EQ(outputs[2].shape(), (Shape{3, 4, 4, 4}));
  const Predictions predictions = model.predict(x);
  ASSERT_EQ(outputs[4].size(), predictions.logits.size());
  for (std::size_t i = 0; i < outputs[4].size(); ++i) {
    EXPECT_EQ(outputs[4].data()[i], predictions.logits[i]);
  }
  for (std::size_t i = 0; i < outputs[1].size(); ++i) EXPECT_GE(outputs[1].data()[i], 0.0f);
}

TEST_F(ModelFiles, AnImageIsPreparedAsItsFileWouldBe) {
  // A digit model: a dark stroke on light paper, 40x30, given as pixels and as a PGM file.
  const Model model = Model::create("seed", Shape{1, 28, 28}, 10);
  GrayImage paper{30, 40, std::vector<std::uint8_t>(30 * 40, 235)};
  for (std::size_t y = 8; y < 32; ++y) {
    for (std::size_t x = 13; x < 17; ++x) paper.pixels[y * 30 + x] = 20;
  }
  write_pgm(path("one.pgm"), paper);
  const Image from_file = model.prepare_file(path("one.pgm"));
  const Image from_pixels = model.prepare(Image{1, 40, 30, paper.pixels});
  EXPECT_EQ(from_file.channels, 1u);
  EXPECT_EQ(from_file.height, 28u);
  EXPECT_EQ(from_file.pixels, from_pixels.pixels);
  // Inverted: the ink is bright, the paper black.
  EXPECT_EQ(from_file.at(0, 0, 0), 0);
  EXPECT_GT(from_file.at(0, 14, 14), 128);
  EXPECT_EQ(model.predict_file(path("one.pgm")).logits,
            model.predict_image(Image{1, 40, 30, paper.pixels}).logits);
  // A resize model keeps colour and stretches.
  const Model colour = Model::create(kSmallNetwork, Shape{3, 8, 8}, 2);
  const Image small = colour.prepare(Image{1, 16, 16, std::vector<std::uint8_t>(256, 100)});
  EXPECT_EQ(small.channels, 3u);
  EXPECT_EQ(small.width, 8u);
  EXPECT_EQ(small.at(2, 4, 4), 100);
  try {
    model.predict_file(path("missing.png"));
    FAIL() << "a missing image was accepted";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.png"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cnn
