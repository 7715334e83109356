// Files written by earlier builds (tests/fixtures/formats/v<N>/, README there) keep loading and
// keep meaning the same: the model classifies a drawing with the probabilities that build
// printed, the checkpoint resumes to the model that build ended with. A file of a format_version
// newer than this build reads is refused, naming the version.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "assertions.hpp"
#include "cli_runner.hpp"
#include "cnn/core/version.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/data/image.hpp"
#include "cnn/io/checkpoint.hpp"
#include "cnn/io/model_file.hpp"
#include "cnn/io/safetensors.hpp"
#include "cnn/nn/softmax_cross_entropy.hpp"
#include "io/model_header.hpp"
#include "safetensors_parts.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace cnn::testing;  // Contains, the file helpers of safetensors_parts.hpp

const fs::path kV0 = fs::path(CNN_SOURCE_DIR) / "tests/fixtures/formats/v0";
const std::string kArchitecture =
    "conv(4,3) maxpool(2) bn relu fc(16) bn relu dropout(0.2) fc(classes)";

// The file with one __metadata__ key set to value (the header written again, padded).
Bytes with_metadata(const Bytes& file, const std::string& key, const std::string& value) {
  Parts parts = split(file);
  parts.header["__metadata__"][key] = value;
  return join(parts.header, parts.data);
}

// The F32 tensors of a safetensors file, by name.
std::map<std::string, std::vector<float>> tensors_of(const fs::path& path) {
  const Bytes bytes = read_bytes(path);
  const cnn::SafetensorsContents contents =
      cnn::parse_safetensors(std::as_bytes(std::span(bytes.data(), bytes.size())));
  std::map<std::string, std::vector<float>> tensors;
  for (const auto& [name, tensor] : contents.tensors) {
    EXPECT_EQ(tensor.dtype, "F32") << name;
    std::vector<float>& values = tensors[name];
    values.resize(tensor.bytes.size() / sizeof(float));
    std::memcpy(values.data(), tensor.bytes.data(), tensor.bytes.size());
  }
  return tensors;
}

class FormatFixturesTest : public cnn::testing::TempDirTest {
 protected:
  FormatFixturesTest() : TempDirTest("cnn-format-fixtures-test") {}
};

TEST_F(FormatFixturesTest, Version0ModelLoadsWithItsArchitectureAndMetadata) {
  const cnn::LoadedModel loaded = cnn::load_model(kV0 / "model.safetensors");
  EXPECT_EQ(loaded.info.preset, "custom");
  EXPECT_EQ(loaded.info.architecture, kArchitecture);
  EXPECT_EQ(loaded.info.input, (cnn::Shape{1, 28, 28}));
  EXPECT_EQ(loaded.info.classes, 10u);
  const std::map<std::string, std::string> expected = {
      {"batch", "16"},
      {"decay", "1e-05"},
      {"iterations", "12"},
      {"learning_rate", "0.01"},
      {"momentum", "0.9"},
      {"recipe",
       "optimizer adam, schedule cosine, augmentation: translate 1 px, rotate 0 deg, scale 0"},
      {"seed", "3"},
      {"test_accuracy", "0.88"},
      {"threads", "1"},
      {"validation_accuracy", "0.875"}};
  EXPECT_EQ(loaded.info.extra, expected);
}

TEST_F(FormatFixturesTest, Version0ModelClassifiesTheDrawingAsThatBuildDid) {
  cnn::LoadedModel loaded = cnn::load_model(kV0 / "model.safetensors");
  // As cnn predict does it (cli/predict_command.cpp): prepared as MNIST, pixel / 255, softmax.
  const fs::path drawing = fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits/3-small-64x64.pgm";
  const cnn::GrayImage prepared = cnn::prepare_digit(cnn::read_image(drawing), drawing.string());
  cnn::Tensor x(cnn::Shape{1, 1, 28, 28}), probs;
  for (std::size_t i = 0; i < prepared.pixels.size(); ++i) {
    x.data()[i] = static_cast<float>(prepared.pixels[i]) / 255.0f;
  }
  cnn::softmax(loaded.model.forward(x, /*training=*/false), probs);
  std::vector<std::size_t> ranked(10);
  std::iota(ranked.begin(), ranked.end(), 0);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](std::size_t a, std::size_t b) { return probs.data()[a] > probs.data()[b]; });
  // That build printed "5  (5: 0.432, 4: 0.225, 3: 0.127)" (%.3f).
  const std::vector<std::pair<std::size_t, double>> printed = {{5, 0.432}, {4, 0.225}, {3, 0.127}};
  for (std::size_t i = 0; i < printed.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(ranked[i], printed[i].first);
    EXPECT_NEAR(probs.data()[ranked[i]], printed[i].second, 0.0005);
  }
}

TEST_F(FormatFixturesTest, Version0CheckpointLoads) {
  const cnn::Checkpoint checkpoint = cnn::load_checkpoint(kV0 / "checkpoint.safetensors");
  EXPECT_EQ(checkpoint.info.architecture, kArchitecture);
  EXPECT_EQ(checkpoint.info.input, (cnn::Shape{1, 28, 28}));
  EXPECT_EQ(checkpoint.info.classes, 10u);
  EXPECT_EQ(checkpoint.info.extra.at("iterations"), "30");
  EXPECT_EQ(checkpoint.info.extra.at("optimizer"), "adam");
  EXPECT_EQ(checkpoint.state.iteration, 20u);
  EXPECT_EQ(checkpoint.state.images, 320u);
  EXPECT_EQ(checkpoint.state.optimizer.steps, 20u);
  EXPECT_EQ(checkpoint.state.optimizer.tensors.size(), 20u);  // Adam's 2 moments of 10 tensors
  EXPECT_EQ(checkpoint.state.sampler.order.size(), 160u);     // 200 images less 40 held out
  EXPECT_EQ(checkpoint.state.sampler.epoch, 2u);
  EXPECT_EQ(checkpoint.state.random_streams.size(), 2u);  // augmentation, dropout
}

const fs::path kV1 = fs::path(CNN_SOURCE_DIR) / "tests/fixtures/formats/v1";

TEST_F(FormatFixturesTest, Version1ModelLoadsAsUnitNumberedDigitsAndClassifiesAsThatBuildDid) {
  cnn::LoadedModel loaded = cnn::load_model(kV1 / "model.safetensors");
  EXPECT_EQ(loaded.info.architecture, kArchitecture);
  EXPECT_TRUE(loaded.info.class_names.empty());
  EXPECT_EQ(loaded.info.names(), cnn::numbered_class_names(10));
  EXPECT_EQ(loaded.info.normalization, cnn::Normalization::unit());
  EXPECT_EQ(loaded.info.preparation, cnn::Preparation::digit);
  EXPECT_FALSE(loaded.info.extra.contains("input_scale"));
  // As cnn predict does it: the digit preparation, the model's normalisation, softmax.
  const fs::path drawing = fs::path(CNN_SOURCE_DIR) / "tests/fixtures/digits/3-small-64x64.pgm";
  const cnn::GrayImage prepared = cnn::prepare_digit(cnn::read_image(drawing), drawing.string());
  cnn::Tensor x(cnn::Shape{1, 1, 28, 28}), probs;
  loaded.info.normalization.apply(prepared.pixels.data(), 1, 784, x.data());
  cnn::softmax(loaded.model.forward(x, /*training=*/false), probs);
  // That build printed "5  (5: 0.305, 4: 0.199, 3: 0.160)" (%.3f).
  const std::vector<std::pair<std::size_t, double>> printed = {{5, 0.305}, {4, 0.199}, {3, 0.160}};
  for (const auto& [label, probability] : printed) {
    EXPECT_NEAR(probs.data()[label], probability, 0.0005) << label;
  }
}

TEST_F(FormatFixturesTest, Version1CheckpointLoads) {
  const cnn::Checkpoint checkpoint = cnn::load_checkpoint(kV1 / "checkpoint.safetensors");
  EXPECT_EQ(checkpoint.info.architecture, kArchitecture);
  EXPECT_EQ(checkpoint.info.normalization, cnn::Normalization::unit());
  EXPECT_EQ(checkpoint.info.preparation, cnn::Preparation::digit);
  EXPECT_EQ(checkpoint.state.iteration, 20u);
  EXPECT_EQ(checkpoint.info.extra.at("iterations"), "30");
}

TEST_F(FormatFixturesTest, CheckpointGivenAsAModelSaysWhatItIs) {
  // Its weights load; its optimizer state does not belong in a model, and the message says why
  // (it once named the checkpoint's preset, "seed", for a network built from --arch).
  const std::string message =
      error_message<cnn::ModelFileError>([] { cnn::load_model(kV0 / "checkpoint.safetensors"); });
  EXPECT_TRUE(
      Contains(message, "unexpected tensor 'optimizer.0.bias.exp_avg' for this architecture"));
  EXPECT_TRUE(Contains(message, "the file is a training checkpoint, not a model file"));
}

TEST_F(FormatFixturesTest, Version0CheckpointResumesAndFinishesItsRun) {
  // Resumed by the program, as the README's command did: the run's settings come from the
  // checkpoint, and turning them into training options is the program's work. It continues at its
  // iteration with its weights, Adam's state and the rest of its epoch's order, and finishes.
  // It no longer ends with the network that build ended with: since data-parallel training, the
  // order of each later epoch, the random moves and the dropout masks come from (seed, epoch,
  // image) rather than from generators the checkpoint saved (their saved states are read and
  // ignored), and the checkpoint stops at the end of epoch 2.
  const fs::path resumed = path("resumed.safetensors");
  const cnn::testing::CliResult r =
      cnn::testing::run_cli({"train", "--data", (kV0 / "data").string(), "--resume",
                             (kV0 / "checkpoint.safetensors").string(), "--quiet", "--out",
                             path("run").string(), "--save", resumed.string()},
                            dir_);
  ASSERT_EQ(r.status, 0) << r;
  EXPECT_TRUE(Contains(r.out, "at iteration 20")) << r;
  EXPECT_TRUE(Contains(r.out, "summary: 30 of 30 iterations")) << r;
  // The same network, trained on: every tensor that build's model has, with its shape, and
  // predictions for the test images that are real probabilities.
  const auto stored = tensors_of(kV0 / "resumed-model.safetensors");
  const auto written = tensors_of(resumed);
  ASSERT_EQ(written.size(), stored.size());
  for (const auto& [name, values] : stored) {
    ASSERT_TRUE(written.contains(name)) << name;
    EXPECT_EQ(written.at(name).size(), values.size()) << name;
  }
  cnn::LoadedModel actual = cnn::load_model(resumed);
  const cnn::Dataset test = cnn::load_mnist_test(kV0 / "data");
  cnn::Tensor x, probabilities;
  std::vector<std::int32_t> labels;
  test.gather_range(0, test.size(), x, labels);
  cnn::softmax(actual.model.forward(x), probabilities);
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    ASSERT_TRUE(probabilities[i] >= 0.0f && probabilities[i] <= 1.0f) << "at " << i;
  }
}

TEST_F(FormatFixturesTest, FilesWrittenNowRecordTheFormatVersion) {
  cnn::LoadedModel loaded = cnn::load_model(kV0 / "model.safetensors");
  const fs::path file = path("model.safetensors");
  cnn::save_model(file, loaded.model, loaded.info);
  const Bytes bytes = read_bytes(file);
  const cnn::SafetensorsContents contents =
      cnn::parse_safetensors(std::as_bytes(std::span(bytes.data(), bytes.size())));
  EXPECT_EQ(contents.metadata.at("format_version"), std::to_string(cnn::kFormatVersion));
  // Saving also records the version of cnn that wrote the file; everything else is kept.
  std::map<std::string, std::string> expected = loaded.info.extra;
  expected[cnn::kVersionKey] = cnn::version();
  EXPECT_EQ(cnn::load_model(file).info.extra, expected);
}

TEST_F(FormatFixturesTest, NewerFormatVersionIsRefusedNamingTheVersion) {
  const std::string newer = std::to_string(cnn::kFormatVersion + 1);
  const std::string supported = "versions 0 to " + std::to_string(cnn::kFormatVersion);

  const fs::path model = path("newer-model.safetensors");
  write_bytes(model, with_metadata(read_bytes(kV0 / "model.safetensors"), "format_version", newer));
  const std::string model_error =
      error_message<cnn::ModelFileError>([&] { cnn::load_model(model); });
  EXPECT_TRUE(Contains(model_error, model.string() + ": format_version " + newer));
  EXPECT_TRUE(Contains(model_error, supported));

  const fs::path checkpoint = path("newer-checkpoint.safetensors");
  write_bytes(checkpoint,
              with_metadata(read_bytes(kV0 / "checkpoint.safetensors"), "format_version", newer));
  const std::string checkpoint_error =
      error_message<cnn::CheckpointError>([&] { cnn::load_checkpoint(checkpoint); });
  EXPECT_TRUE(Contains(checkpoint_error, checkpoint.string() + ": format_version " + newer));
  EXPECT_TRUE(Contains(checkpoint_error, supported));

  // The versions this build reads load; a version that is not a number does not.
  for (unsigned version = 0; version <= cnn::kFormatVersion; ++version) {
    write_bytes(model, with_metadata(read_bytes(kV0 / "model.safetensors"), "format_version",
                                     std::to_string(version)));
    EXPECT_EQ(cnn::load_model(model).info.classes, 10u);
  }
  write_bytes(model, with_metadata(read_bytes(kV0 / "model.safetensors"), "format_version", "1x"));
  EXPECT_TRUE(Contains(error_message<cnn::ModelFileError>([&] { cnn::load_model(model); }),
                       "format_version '1x' is not a version number"));
}

}  // namespace
