// Checkpoints: a run resumed from one ends bit for bit where a run never stopped ends; the file
// keeps every field exactly; broken files are rejected naming the file; a failed write leaves the
// previous checkpoint intact.
#include "cnn/io/checkpoint.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/io/safetensors.hpp"
#include "cnn/train/sgd.hpp"
#include "cnn/train/training.hpp"
#include "safetensors_parts.hpp"
#include "temp_dir.hpp"

namespace cnn {
namespace {

namespace fs = std::filesystem;
using namespace testing;  // the file helpers of safetensors_parts.hpp

// 12x12 images of 4 classes; class k has a bright 2-pixel bar at row 3k, plus noise.
Dataset bars(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::uint8_t> pixels(count * 144), labels(count);
  for (std::size_t n = 0; n < count; ++n) {
    labels[n] = static_cast<std::uint8_t>(rng.below(4));
    for (std::size_t i = 0; i < 144; ++i) {
      pixels[n * 144 + i] = static_cast<std::uint8_t>(rng.below(60));
    }
    for (std::size_t row = 3u * labels[n]; row < 3u * labels[n] + 2u; ++row) {
      for (std::size_t col = 2; col < 10; ++col) pixels[n * 144 + row * 12 + col] = 250;
    }
  }
  return Dataset(std::move(pixels), std::move(labels), 12, 12, 4);
}

const Shape kImage{1, 12, 12};
const ModelInfo kInfo{"seed", kImage, 4, {{"batch", "8"}}};

std::vector<float> weights_of(Sequential& model) {
  std::vector<float> weights;
  for (const Parameter& p : model.parameters()) {
    weights.insert(weights.end(), p.value->data(), p.value->data() + p.value->size());
  }
  return weights;
}

TrainOptions options_for_test() {
  TrainOptions options;
  options.batch_size = 8;  // 50 images: 7 batches per epoch, the last one of 2
  options.iterations = 40;
  options.optimizer.learning_rate = 0.05;
  options.optimizer.momentum = 0.9;
  options.optimizer.schedule.decay = 1e-3;
  options.shuffle_seed = 3;
  options.report_every = 5;
  return options;
}

class CheckpointTest : public testing::TempDirTest {
 protected:
  CheckpointTest() : TempDirTest("cnn-checkpoint-test") {}
};

TEST_F(CheckpointTest, ResumedRunEndsWithBitwiseTheSameWeightsAndLosses) {
  const Dataset data = bars(50, 1);
  // The run never stopped, writing a checkpoint every 9 iterations (mid-epoch: 7 per epoch).
  Sequential straight = make_preset("seed", kImage, 4);
  straight.initialize(2);
  TrainOptions options = options_for_test();
  options.checkpoint_every = 9;
  std::vector<std::size_t> written;
  options.on_checkpoint = [&](const TrainState& state) {
    written.push_back(state.iteration);
    if (state.iteration == 18) save_checkpoint(path("at18"), straight, kInfo, state);
  };
  std::vector<double> straight_losses;
  train(straight, data, options,
        [&](const TrainProgress& p) { straight_losses.push_back(p.loss); });
  EXPECT_EQ(written, (std::vector<std::size_t>{9, 18, 27, 36}));

  Checkpoint checkpoint = load_checkpoint(path("at18"));
  EXPECT_EQ(checkpoint.state.iteration, 18u);
  EXPECT_EQ(checkpoint.state.sampler.epoch, 3u);  // 18 = 2 epochs of 7 + 4
  EXPECT_EQ(checkpoint.state.sampler.position, 4u * 8u);
  TrainOptions resumed_options = options_for_test();
  resumed_options.resume = &checkpoint.state;
  std::vector<double> resumed_losses;
  const TrainResult result =
      train(checkpoint.model, data, resumed_options,
            [&](const TrainProgress& p) { resumed_losses.push_back(p.loss); });
  EXPECT_EQ(result.iterations, 40u);
  EXPECT_EQ(weights_of(checkpoint.model), weights_of(straight));
  // Reports at 20, 25, ..., 40; the one at 20 covers iterations 16-20, across the checkpoint.
  ASSERT_EQ(resumed_losses.size(), 5u);
  EXPECT_EQ(resumed_losses, std::vector<double>(straight_losses.end() - 5, straight_losses.end()));
}

TEST_F(CheckpointTest, AugmentationAndDropoutAreResumedExactlyFromTheImageKeys) {
  // Augmentation and two dropout layers draw from image keys (seed, epoch, image index), so the
  // checkpoint needs no generator besides the data order's, and the resumed run ends exactly as
  // the one never stopped. Resumed under another seed (which now only changes the keys: the
  // data order comes from the checkpoint) it does not, so the comparison can fail.
  const Dataset data = bars(50, 1);
  const std::string arch = "conv(4,3) relu maxpool(2) dropout(0.3) fc(16) relu dropout(0.5) fc(4)";
  const ModelInfo info{"custom", kImage, 4, {}, arch};
  Sequential straight = build_architecture(arch, kImage, 4);
  straight.initialize(2);
  TrainOptions options = options_for_test();
  options.augment = {2.0, 10.0, 0.1};
  options.checkpoint_every = 9;
  options.on_checkpoint = [&](const TrainState& state) {
    if (state.iteration == 18) save_checkpoint(path("at18"), straight, info, state);
  };
  train(straight, data, options);

  Checkpoint checkpoint = load_checkpoint(path("at18"));
  EXPECT_TRUE(checkpoint.state.random_streams.empty());
  TrainOptions resumed_options = options_for_test();
  resumed_options.augment = options.augment;
  resumed_options.resume = &checkpoint.state;
  train(checkpoint.model, data, resumed_options);
  EXPECT_EQ(weights_of(checkpoint.model), weights_of(straight));

  // Generators in the checkpoint, as builds before image keys wrote them, are ignored.
  Checkpoint with_streams = load_checkpoint(path("at18"));
  with_streams.state.random_streams = {Rng(97).state(), Rng(98).state(), Rng(99).state()};
  resumed_options.resume = &with_streams.state;
  train(with_streams.model, data, resumed_options);
  EXPECT_EQ(weights_of(with_streams.model), weights_of(straight));

  Checkpoint other_keys = load_checkpoint(path("at18"));
  resumed_options.resume = &other_keys.state;
  resumed_options.shuffle_seed = options.shuffle_seed + 1;
  train(other_keys.model, data, resumed_options);
  EXPECT_NE(weights_of(other_keys.model), weights_of(straight));
}

TEST_F(CheckpointTest, KeepsEveryFieldExactly) {
  Sequential model = make_preset("seed", kImage, 4);
  model.initialize(7);
  TrainState state;
  state.iteration = 123;
  state.images = 984;
  state.loss_sum = 0.1 + 0.2;  // not a short decimal
  state.loss_count = 3;
  state.optimizer.steps = 123;
  for (const Parameter& p : model.parameters()) {
    Tensor velocity(p.value->shape());
    for (std::size_t i = 0; i < velocity.size(); ++i) velocity[i] = 1.0f / float(i + 3);
    state.optimizer.tensors.emplace(p.name + ".momentum_buffer", velocity);
  }
  state.sampler.order = {4, 2, 0, 1, 3};
  state.sampler.position = 5;
  state.sampler.epoch = 9;
  Rng rng(11);
  rng.normal();  // leaves a spare normal in the state
  state.sampler.rng = rng.state();
  state.random_streams = {Rng(5).state(), rng.state()};
  save_checkpoint(path("c"), model, kInfo, state);

  Checkpoint loaded = load_checkpoint(path("c"));
  EXPECT_EQ(loaded.info.preset, "seed");
  EXPECT_EQ(loaded.info.input, kImage);
  EXPECT_EQ(loaded.info.classes, 4u);
  EXPECT_EQ(loaded.info.extra, kInfo.extra);
  EXPECT_EQ(weights_of(loaded.model), weights_of(model));
  const TrainState& s = loaded.state;
  EXPECT_EQ(s.iteration, 123u);
  EXPECT_EQ(s.images, 984u);
  EXPECT_EQ(s.loss_sum, 0.1 + 0.2);
  EXPECT_EQ(s.loss_count, 3u);
  EXPECT_EQ(s.optimizer.steps, 123u);
  ASSERT_EQ(s.optimizer.tensors.size(), state.optimizer.tensors.size());
  for (const auto& [name, tensor] : state.optimizer.tensors) {
    const Tensor& other = s.optimizer.tensors.at(name);
    ASSERT_EQ(other.shape(), tensor.shape()) << name;
    EXPECT_EQ(std::memcmp(other.data(), tensor.data(), tensor.size() * sizeof(float)), 0) << name;
  }
  EXPECT_EQ(s.sampler.order, state.sampler.order);
  EXPECT_EQ(s.sampler.position, 5u);
  EXPECT_EQ(s.sampler.epoch, 9u);
  EXPECT_EQ(s.sampler.rng.words, state.sampler.rng.words);
  EXPECT_EQ(s.sampler.rng.spare_normal, state.sampler.rng.spare_normal);
  EXPECT_TRUE(s.sampler.rng.has_spare);
  Rng a(0), b(0);
  a.set_state(state.sampler.rng);
  b.set_state(s.sampler.rng);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.normal(), b.normal());
  ASSERT_EQ(s.random_streams.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(s.random_streams[i].words, state.random_streams[i].words);
    EXPECT_EQ(s.random_streams[i].spare_normal, state.random_streams[i].spare_normal);
    EXPECT_EQ(s.random_streams[i].has_spare, state.random_streams[i].has_spare);
  }
}

TEST_F(CheckpointTest, KeepsTheExtrasOfTheProgramAndLoadsCheckpointsWithout) {
  Sequential model = make_preset("seed", kImage, 4);
  model.initialize(7);
  TrainState state;
  state.sampler.order = {1, 0};
  CheckpointExtras extras;
  extras.values = {{"folder", "/runs/a b"}, {"training_seconds", "12.5"}};
  for (const Parameter& p : model.parameters()) {
    Tensor best(p.value->shape());
    for (std::size_t i = 0; i < best.size(); ++i) best[i] = 0.5f + float(i);
    extras.best.emplace(p.name, best);
  }
  save_checkpoint(path("c"), model, kInfo, state, extras);
  const Checkpoint loaded = load_checkpoint(path("c"));
  EXPECT_EQ(loaded.extras.values, extras.values);
  EXPECT_EQ(loaded.info.extra, kInfo.extra) << "the extras are not settings";
  ASSERT_EQ(loaded.extras.best.size(), extras.best.size());
  for (const auto& [name, tensor] : extras.best) {
    const Tensor& other = loaded.extras.best.at(name);
    ASSERT_EQ(other.shape(), tensor.shape()) << name;
    EXPECT_EQ(std::memcmp(other.data(), tensor.data(), tensor.size() * sizeof(float)), 0) << name;
  }

  // Without extras (as every checkpoint before them): none come back.
  save_checkpoint(path("plain"), model, kInfo, state);
  const Checkpoint plain = load_checkpoint(path("plain"));
  EXPECT_TRUE(plain.extras.values.empty());
  EXPECT_TRUE(plain.extras.best.empty());

  // Best weights must be complete: one missing is refused, naming it.
  extras.best.erase(extras.best.begin());
  save_checkpoint(path("partial"), model, kInfo, state, extras);
  try {
    load_checkpoint(path("partial"));
    ADD_FAILURE() << "a checkpoint with incomplete best weights was accepted";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("the best weights are incomplete"), std::string::npos)
        << e.what();
  }
}

TEST_F(CheckpointTest, StopRequestFinishesTheStepCheckpointsAndReturns) {
  const Dataset data = bars(50, 1);
  Sequential model = make_preset("seed", kImage, 4);
  model.initialize(2);
  TrainOptions options = options_for_test();
  std::atomic<bool> stop{false};
  options.stop_requested = &stop;
  std::vector<std::size_t> checkpoints;
  options.on_checkpoint = [&](const TrainState& state) { checkpoints.push_back(state.iteration); };
  std::size_t reports = 0;
  const TrainResult result = train(model, data, options, [&](const TrainProgress& p) {
    ++reports;
    if (p.iteration == 10) stop = true;  // as a Ctrl-C during iteration 10 would
  });
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.iterations, 10u);
  EXPECT_EQ(checkpoints, std::vector<std::size_t>{10});
  EXPECT_EQ(reports, 2u);
}

TEST_F(CheckpointTest, AFailedWriteLeavesThePreviousCheckpointAndNoTemporaryFile) {
  Sequential model = make_preset("seed", kImage, 4);
  model.initialize(1);
  TrainState state;
  state.sampler.order = {0, 1};
  save_checkpoint(path("c"), model, kInfo, state);
  const Bytes before = read_bytes(path("c"));
  // The target is a folder now: the rename fails after the temporary file was written.
  fs::create_directory(path("folder"));
  EXPECT_THROW(save_checkpoint(path("folder"), model, kInfo, state), CheckpointError);
  try {
    save_checkpoint(dir_ / "missing" / "c", model, kInfo, state);
    FAIL() << "no error for a missing folder";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "missing" / "c").string()), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_bytes(path("c")), before);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"c", "folder"}));
}

// ---- broken files ---------------------------------------------------------------------------

class BrokenCheckpointTest : public CheckpointTest {
 protected:
  void SetUp() override {
    CheckpointTest::SetUp();
    Sequential model = make_preset("seed", kImage, 4);
    model.initialize(1);
    TrainState state;
    state.sampler.order = {2, 0, 1};
    state.sampler.position = 1;
    SGD sgd(model.parameter_block(), {});
    state.optimizer = sgd.checkpoint_state();
    save_checkpoint(path("good"), model, kInfo, state);
    good_ = read_bytes(path("good"));
    parts_ = split(good_);  // a valid checkpoint's header and data, to edit and write back
  }

  // Writes the parts as a file and expects load_checkpoint to fail naming it and `phrase`.
  void expect_rejected(const Parts& parts, const std::string& phrase) {
    expect_rejected(join(parts.header, parts.data, /*pad=*/false), phrase);
  }
  void expect_rejected(const Bytes& bytes, const std::string& phrase) {
    write_bytes(path("bad"), bytes);
    try {
      load_checkpoint(path("bad"));
      ADD_FAILURE() << "accepted; expected an error about " << phrase;
    } catch (const CheckpointError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path("bad").string() + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(phrase), std::string::npos) << message;
    }
  }

  Bytes good_;
  Parts parts_;
};

TEST_F(BrokenCheckpointTest, MissingFileAndFolder) {
  EXPECT_THROW(load_checkpoint(path("none")), CheckpointError);
  EXPECT_THROW(load_checkpoint(dir_), CheckpointError);
}

TEST_F(BrokenCheckpointTest, EveryTruncationIsRejected) {
  for (std::size_t size = 0; size < good_.size(); size += 1 + size / 7) {
    SCOPED_TRACE(size);
    write_bytes(path("bad"), Bytes(good_.begin(), good_.begin() + long(size)));
    EXPECT_THROW(load_checkpoint(path("bad")), CheckpointError);
  }
}

TEST_F(BrokenCheckpointTest, AModelFileIsNotACheckpoint) {
  Sequential model = make_preset("seed", kImage, 4);
  save_model(path("model"), model, kInfo);
  expect_rejected(read_bytes(path("model")), "not a checkpoint");
}

TEST_F(BrokenCheckpointTest, OrderThatIsNotAPermutation) {
  Parts parts = parts_;
  const auto range = parts.header["sampler.order"]["data_offsets"];
  const std::uint32_t twice[3] = {1, 1, 0};
  std::memcpy(parts.data.data() + range[0].get<std::size_t>(), twice, sizeof twice);
  expect_rejected(parts, "not a permutation");
}

TEST_F(BrokenCheckpointTest, PositionPastTheOrder) {
  Parts parts = parts_;
  parts.header["__metadata__"]["sampler.position"] = "4";
  expect_rejected(parts, "sampler.position");
}

TEST_F(BrokenCheckpointTest, MetadataThatIsNotANumber) {
  for (const char* key :
       {"iteration", "images", "loss_count", "optimizer.steps", "sampler.epoch"}) {
    SCOPED_TRACE(key);
    Parts parts = parts_;
    parts.header["__metadata__"][key] = "12x";
    expect_rejected(parts, key);
    parts.header["__metadata__"].erase(key);
    expect_rejected(parts, key);
  }
  Parts parts = parts_;
  parts.header["__metadata__"]["loss_sum"] = "inf";
  expect_rejected(parts, "loss_sum");
  parts = parts_;
  parts.header["__metadata__"]["sampler.rng"] = "1 2 3";
  expect_rejected(parts, "sampler.rng");
  parts = parts_;
  parts.header["__metadata__"]["sampler.epoch"] = "0";
  expect_rejected(parts, "sampler.epoch");
  parts = parts_;
  parts.header["__metadata__"]["random_streams"] = "1";  // the generator itself is missing
  expect_rejected(parts, "random_stream.0");
  parts.header["__metadata__"]["random_stream.0"] = "1 2 3";
  expect_rejected(parts, "random_stream.0");
  parts.header["__metadata__"]["random_streams"] = "99999999999";
  expect_rejected(parts, "random_streams");
  parts.header["__metadata__"]["random_streams"] = "-1";
  expect_rejected(parts, "random_streams");
}

TEST_F(BrokenCheckpointTest, OptimizerTensorForNoParameter) {
  Parts parts = parts_;
  parts.header["optimizer.9.weight.momentum_buffer"] =
      parts.header["optimizer.0.bias.momentum_buffer"];
  parts.header.erase("optimizer.0.bias.momentum_buffer");
  expect_rejected(parts, "optimizer.9.weight.momentum_buffer");
}

TEST_F(BrokenCheckpointTest, TensorOfTheWrongDtypeOrShape) {
  Parts parts = parts_;
  parts.header["0.bias"]["dtype"] = "U32";
  expect_rejected(parts, "dtype");
  parts = parts_;
  parts.header["sampler.order"]["dtype"] = "F32";
  expect_rejected(parts, "sampler.order");
  parts = parts_;
  parts.header["0.bias"]["dtype"] = "F16";
  expect_rejected(parts, "F16");
}

TEST_F(BrokenCheckpointTest, UnexpectedAndMissingTensors) {
  Parts parts = parts_;
  parts.header["extra"] = parts.header["0.bias"];
  parts.header.erase("0.bias");
  expect_rejected(parts, "'0.bias' is missing");
  parts = parts_;
  parts.header.erase("sampler.order");
  expect_rejected(parts, "12 bytes after the last tensor");  // its bytes are still there
  ASSERT_GE(parts.data.size(), 12u);
  parts.data.erase(parts.data.end() - 12, parts.data.end());  // the order is written last
  expect_rejected(parts, "'sampler.order' is missing");
}

TEST_F(BrokenCheckpointTest, UnknownPresetAndBadShapes) {
  Parts parts = parts_;
  parts.header["__metadata__"]["preset"] = "nope";
  parts.header["__metadata__"].erase("architecture");  // then the preset must be known
  expect_rejected(parts, "cannot build");
  parts = parts_;
  parts.header["__metadata__"]["architecture"] = "conv(4,5) relu fc(";
  expect_rejected(parts, "cannot build");
  for (const char* shape : {"1,12", "1,0,12", "a,b,c", "1,4096,4096", ""}) {
    SCOPED_TRACE(shape);
    parts = parts_;
    parts.header["__metadata__"]["input_shape"] = shape;
    expect_rejected(parts, "input_shape");
  }
  parts = parts_;
  parts.header["__metadata__"]["classes"] = "0";
  expect_rejected(parts, "classes");
}

}  // namespace
}  // namespace cnn
