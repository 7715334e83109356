// Data-parallel training (train() with TrainOptions::processes, evaluate() and evaluate_in_detail()
// with a ProcessGroup) against one process: the guarantees of issue 14 that need several ranks.
//
// CTest runs this binary under `mpirun -np 2` and `mpirun -np 4 --oversubscribe`
// (tests/CMakeLists.txt); started plainly, every test skips. Each test computes the single-process
// reference on every rank (train() with processes = nullptr on the same data, one kernel thread)
// and compares the data-parallel result with it.
//
// How close "the same" is: float sums in another order (each rank sums its share of the gradient,
// then the shares are summed; batch normalisation sums its statistics the same way) change the
// last bits, and training carries those differences along. Measured here (rank 0 prints each as
// "measured (N ranks): ..."): at most 4.4e-7 of the largest weight, except when the last batch
// holds 1 image and a 1-d batch norm normalises that one value (variance 0, so its output is
// rounding noise times 1/sqrt(eps)): 1.2e-5. kTolerance = 1e-4 still fails by orders of magnitude
// when the shares are weighted wrongly: a loss divided by the share's size instead of the global
// batch's gave 0.23 to 4.7 with SGD (Adam, which ignores a uniform scale of the gradient, only
// notices at uneven shares: 0.03 at batch 17, 2.6e-5 at 16).
//
// Collectives come before assertions: a rank that returned early from a test would leave the
// others waiting in a collective it never joins.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnn/arch/architecture.hpp"
#include "cnn/arch/presets.hpp"
#include "cnn/core/parallel.hpp"
#include "cnn/core/rng.hpp"
#include "cnn/mpi/mpi_process_group.hpp"
#include "cnn/train/divergence.hpp"
#include "cnn/train/evaluation.hpp"
#include "cnn/train/sharding.hpp"
#include "cnn/train/training.hpp"
#include "every_rank.hpp"

namespace {

// Largest |data-parallel − single-process| over the largest |single-process| value.
constexpr double kTolerance = 1e-4;

// conv, batch norm (2-d and 1-d), dropout, max-pooling and fully connected layers, for 12x12
// images: 12x12x4 → 6x6x4 → 4x4x6 → 16 → classes, laid out as the presets fast and best are.
const char* const kMixedLayers =
    "conv(4,3,pad=1) bn relu maxpool(2) dropout(0.25) conv(6,3) relu fc(16) bn relu dropout(0.2) "
    "fc(classes)";
// The same without batch norm, for Adam. Batch norm makes some gradients zero in exact arithmetic:
// the sum over the batch of its input gradient is 0, so the bias of a layer before it (through a
// max-pooling, or a ReLU active on the whole batch) gets rounding noise as its gradient. SGD
// leaves such noise as small as it is; Adam divides each gradient by its running size and turns
// the noise into steps of ±lr whose signs follow the order of the sums (measured after 50 steps:
// 1e-3 to 2.5e-2 of the largest weight, first on such biases, then everywhere the changed
// activations lead). Adam with batch norm is held to the same predictions instead
// (AdamWithBatchNormPredictsAsOneProcess).
const char* const kMixedLayersWithoutBatchNorm =
    "conv(4,3,pad=1) relu maxpool(2) dropout(0.25) conv(6,3) relu fc(16) relu dropout(0.2) "
    "fc(classes)";

const char* layers_for(cnn::OptimizerKind kind) {
  return kind == cnn::OptimizerKind::sgd ? kMixedLayers : kMixedLayersWithoutBatchNorm;
}

// `count` images of side x side pixels and `classes` classes over uniform noise: class k has a
// bright two-pixel bar, horizontal for even k and vertical for odd k, at a place that depends on
// k / 2, so that small networks learn them in a few dozen steps (and their gradients are not
// negligible).
cnn::Dataset patterns(std::size_t count, std::size_t side, std::size_t classes,
                      std::uint64_t seed) {
  cnn::Rng rng(seed);
  std::vector<std::uint8_t> pixels(count * side * side), labels(count);
  const std::size_t places = (classes + 1) / 2;
  for (std::size_t n = 0; n < count; ++n) {
    const std::size_t k = rng.below(classes);
    labels[n] = static_cast<std::uint8_t>(k);
    std::uint8_t* image = pixels.data() + n * side * side;
    for (std::size_t i = 0; i < side * side; ++i)
      image[i] = static_cast<std::uint8_t>(rng.below(80));
    const std::size_t at = 1 + (k / 2) * (side - 3) / places;
    for (std::size_t across = at; across < at + 2; ++across) {
      for (std::size_t along = 2; along + 2 < side; ++along) {
        const std::size_t row = k % 2 == 0 ? across : along;
        const std::size_t col = k % 2 == 0 ? along : across;
        image[row * side + col] = 250;
      }
    }
  }
  return cnn::Dataset(std::move(pixels), std::move(labels), side, side, classes);
}

cnn::Sequential model_for(const std::string& architecture, const cnn::Dataset& data,
                          std::uint64_t init_seed) {
  cnn::Sequential model = cnn::build_architecture(architecture, data.image_shape(), data.classes());
  model.initialize(init_seed);
  return model;
}

// What a training run ends with.
struct Trained {
  std::vector<float> weights;  // the parameter block
  // Where each parameter lies in `weights`, for messages ("3.bias[2]").
  struct Place {
    std::string name;
    std::size_t offset, size;
  };
  std::vector<Place> places;
  std::vector<float> buffers;  // every buffer (batch normalisation's running statistics)
  std::uint64_t fingerprint = 0;
  cnn::TrainResult result;
  std::vector<std::int32_t> predicted;  // on the training data, after training
};

Trained take(cnn::Sequential& model, const cnn::TrainResult& result) {
  Trained trained;
  const cnn::ParameterBlock& block = model.parameter_block();
  trained.weights.assign(block.values(), block.values() + block.count());
  for (const cnn::Parameter& p : model.parameters()) {
    trained.places.push_back(
        {p.name, static_cast<std::size_t>(p.value->data() - block.values()), p.value->size()});
  }
  for (const cnn::Buffer& b : model.buffers()) {
    trained.buffers.insert(trained.buffers.end(), b.value->data(),
                           b.value->data() + b.value->size());
  }
  trained.fingerprint = cnn::replica_fingerprint(model);
  trained.result = result;
  return trained;
}

// The classes the model predicts for data (inference mode).
std::vector<std::int32_t> predictions(cnn::Sequential& model, const cnn::Dataset& data) {
  return cnn::evaluate_in_detail(model, data).predicted;
}

// Trains a model of `architecture` initialised from init_seed, alone (processes null) or as one
// rank of processes.
Trained train_model(const std::string& architecture, const cnn::Dataset& data,
                    cnn::TrainOptions options, cnn::ProcessGroup* processes,
                    std::uint64_t init_seed) {
  cnn::Sequential model = model_for(architecture, data, init_seed);
  options.processes = processes;
  const cnn::TrainResult result = cnn::train(model, data, options);
  Trained trained = take(model, result);
  trained.predicted = predictions(model, data);
  return trained;
}

// max |reference − other| / max |reference|; infinity when other holds a NaN or the sizes differ.
double relative_difference(const std::vector<float>& reference, const std::vector<float>& other) {
  if (reference.size() != other.size()) return std::numeric_limits<double>::infinity();
  double largest = 0.0, difference = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    if (!std::isfinite(other[i])) return std::numeric_limits<double>::infinity();
    largest = std::max(largest, std::fabs(static_cast<double>(reference[i])));
    difference = std::max(difference, std::fabs(static_cast<double>(reference[i]) - other[i]));
  }
  return largest > 0.0 ? difference / largest : difference;
}

// The weight where reference and other differ most, with both values ("3.bias[2]: 0.25 vs 0.5").
std::string largest_difference(const Trained& reference, const Trained& other) {
  std::size_t at = 0;
  double largest = -1.0;
  for (std::size_t i = 0; i < std::min(reference.weights.size(), other.weights.size()); ++i) {
    const double d = std::fabs(static_cast<double>(reference.weights[i]) - other.weights[i]);
    if (!(d <= largest)) {
      largest = d;
      at = i;
    }
  }
  std::string name = "gap";
  for (const Trained::Place& place : reference.places) {
    if (at >= place.offset && at < place.offset + place.size) {
      name = place.name + "[" + std::to_string(at - place.offset) + "]";
    }
  }
  return "largest at " + name + ": " + std::to_string(reference.weights[at]) + " alone, " +
         std::to_string(other.weights[at]) + " together";
}

// Rank 0 prints a measured figure (the other ranks print only failures).
void report(const std::string& what, double relative) {
  if (world->rank() == 0) {
    std::printf("measured (%zu ranks): %s: max relative difference %.3g (bound %.0e)\n",
                world->size(), what.c_str(), relative, kTolerance);
  }
}

// Every rank's value equals rank 0's (a collective: every rank calls it).
void expect_same_on_every_rank(std::uint64_t value, const std::string& what) {
  const std::vector<std::uint64_t> values = world->all_gather(value);
  for (std::size_t r = 1; r < values.size(); ++r) {
    EXPECT_EQ(values[r], values[0]) << what << ": rank " << r << " differs from rank 0";
  }
}

// Trains alone and on every rank with the same options; the replicas must be identical and their
// weights (and buffers) within kTolerance of the single process's. Returns the difference.
double expect_same_as_one_process(const std::string& what, const std::string& architecture,
                                  const cnn::Dataset& data, const cnn::TrainOptions& options,
                                  std::uint64_t init_seed = 7) {
  const Trained alone = train_model(architecture, data, options, nullptr, init_seed);
  const Trained together = train_model(architecture, data, options, world, init_seed);
  expect_same_on_every_rank(together.fingerprint, what + ": replica fingerprint");
  expect_same_on_every_rank(together.result.iterations, what + ": iterations");
  EXPECT_EQ(together.result.iterations, alone.result.iterations) << what;
  EXPECT_EQ(together.result.images, alone.result.images) << what;
  const double weights = relative_difference(alone.weights, together.weights);
  const double buffers = relative_difference(alone.buffers, together.buffers);
  EXPECT_LE(weights, kTolerance) << what << ": weights, " << largest_difference(alone, together);
  EXPECT_LE(buffers, kTolerance) << what << ": buffers";
  // The comparison means something only if training moved the weights.
  const Trained untrained = [&] {
    cnn::Sequential model = model_for(architecture, data, init_seed);
    return take(model, {});
  }();
  EXPECT_GT(relative_difference(untrained.weights, alone.weights), 100 * kTolerance) << what;
  report(what, std::max(weights, buffers));
  return std::max(weights, buffers);
}

cnn::TrainOptions options_for(cnn::OptimizerKind kind, std::size_t batch, std::size_t iterations) {
  cnn::TrainOptions options;
  options.batch_size = batch;
  options.iterations = iterations;
  options.report_every = 0;
  options.shuffle_seed = 11;
  options.optimizer.kind = kind;
  options.optimizer.learning_rate = kind == cnn::OptimizerKind::sgd ? 0.05 : 0.003;
  return options;
}

// Every test of the suite: a failure on any rank also fails the test on rank 0, which alone
// prints the results, naming the ranks that failed (their own messages come first).
class DataParallel : public testing::Test {
 protected:
  void TearDown() override {
    if (world == nullptr) return;
    const std::vector<std::uint64_t> failed = world->all_gather(HasFailure() ? 1 : 0);
    if (world->rank() != 0) return;
    for (std::size_t r = 1; r < failed.size(); ++r) {
      if (failed[r] != 0) ADD_FAILURE() << "rank " << r << " failed this test";
    }
  }
};

// ---- 1. Same start everywhere -----------------------------------------------------------------

// Ranks initialised from different seeds train as one process started from rank 0's seed: the
// weights, buffers (and the optimizer state and step count) are rank 0's from the first step.
TEST_F(DataParallel, RanksSeededDifferentlyTrainFromRankZerosModel) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(120, 12, 4, 1);
  const std::uint64_t seed = 7;
  const std::uint64_t my_seed = seed + 1000 * world->rank();
  // The precondition: the ranks' models really differ before training.
  const std::vector<std::uint64_t> before = world->all_gather([&] {
    cnn::Sequential model = model_for(kMixedLayers, data, my_seed);
    return cnn::replica_fingerprint(model);
  }());
  for (std::size_t r = 1; r < before.size(); ++r) EXPECT_NE(before[r], before[0]) << "rank " << r;

  for (const cnn::OptimizerKind kind : {cnn::OptimizerKind::sgd, cnn::OptimizerKind::adam}) {
    const std::string what = "start from rank 0, " + cnn::optimizer_name(kind);
    cnn::TrainOptions options = options_for(kind, 16, 3);
    const Trained alone = train_model(layers_for(kind), data, options, nullptr, seed);
    const Trained together = train_model(layers_for(kind), data, options, world, my_seed);
    expect_same_on_every_rank(together.fingerprint, what);
    const double difference = std::max(relative_difference(alone.weights, together.weights),
                                       relative_difference(alone.buffers, together.buffers));
    EXPECT_LE(difference, kTolerance) << what << ", " << largest_difference(alone, together);
    report(what, difference);
  }
}

// A rank that built another model is refused at the start, on every rank, with a message naming
// it; nobody waits in a broadcast that does not fit.
TEST_F(DataParallel, DifferentModelOnOneRankIsRefusedOnEveryRank) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(60, 12, 4, 2);
  const std::string architecture = world->rank() == 1 ? "conv(4,3) relu fc(17) relu fc(classes)"
                                                      : "conv(4,3) relu fc(16) relu fc(classes)";
  cnn::Sequential model = model_for(architecture, data, 3);
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::sgd, 8, 2);
  options.processes = world;
  std::string message;
  try {
    cnn::train(model, data, options);
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  expect_same_on_every_rank(message.empty() ? 0 : 1, "refused");
  EXPECT_NE(
      message.find("process 1 of " + std::to_string(world->size()) + " holds a different model"),
      std::string::npos)
      << message;
}

// ---- 2. Same result as one process ------------------------------------------------------------

// conv, batch norm, dropout, max-pooling and fc with augmentation, 50 steps, for SGD and Adam, at
// a global batch that divides among the ranks (16) and one that does not (17: shares of 9 and 8,
// or 5, 4, 4, 4); 300 images make 19 or 18 batches an epoch, the last one smaller.
TEST_F(DataParallel, SameWeightsAsOneProcessWithBatchNormDropoutAndAugmentation) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(300, 12, 4, 3);
  for (const cnn::OptimizerKind kind : {cnn::OptimizerKind::sgd, cnn::OptimizerKind::adam}) {
    for (const std::size_t batch : {16U, 17U}) {
      cnn::TrainOptions options = options_for(kind, batch, 50);
      options.augment.translate = 1.5;
      options.augment.rotate = 10.0;
      expect_same_as_one_process(
          "mixed layers, " + cnn::optimizer_name(kind) + ", batch " + std::to_string(batch),
          layers_for(kind), data, options);
    }
  }
}

// Adam with batch norm (see kMixedLayersWithoutBatchNorm): the weights drift apart by more than
// the order of sums explains, but the replicas stay identical and the model predicts as one
// process's does on (nearly) every image.
TEST_F(DataParallel, AdamWithBatchNormPredictsAsOneProcess) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(300, 12, 4, 3);
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::adam, 17, 50);
  options.augment.translate = 1.5;
  options.augment.rotate = 10.0;
  const Trained alone = train_model(kMixedLayers, data, options, nullptr, 7);
  const Trained together = train_model(kMixedLayers, data, options, world, 7);
  expect_same_on_every_rank(together.fingerprint, "adam with batch norm");
  ASSERT_EQ(alone.predicted.size(), together.predicted.size());
  std::size_t agree = 0;
  for (std::size_t i = 0; i < alone.predicted.size(); ++i) {
    agree += alone.predicted[i] == together.predicted[i];
  }
  const double agreement = static_cast<double>(agree) / static_cast<double>(data.size());
  EXPECT_GE(agreement, 0.99);
  if (world->rank() == 0) {
    std::printf(
        "measured (%zu ranks): adam with batch norm: weights differ by %.3g, %.2f %% of "
        "predictions agree\n",
        world->size(), relative_difference(alone.weights, together.weights), 100.0 * agreement);
  }
}

// Every preset on 28x28 images of 10 classes (best: batch normalisation and dropout) with
// augmentation, at a batch of 9 (shares of 5 and 4, or 3, 2, 2, 2).
TEST_F(DataParallel, SameWeightsAsOneProcessForEveryPreset) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(90, 28, 10, 4);
  for (const std::string& preset : cnn::preset_names()) {
    cnn::TrainOptions options = options_for(cnn::OptimizerKind::sgd, 9, preset == "best" ? 5 : 12);
    options.augment.translate = 2.0;
    options.augment.rotate = 8.0;
    expect_same_as_one_process("preset " + preset, cnn::preset_architecture(preset), data, options);
  }
}

// ---- 3. Replicas stay identical ---------------------------------------------------------------

// After whole epochs the replicas were compared once an epoch; a run that ends within an epoch is
// compared at its end too. Every rank ends with the same fingerprint.
TEST_F(DataParallel, ReplicasAreComparedAfterEveryEpochAndAtTheEnd) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(100, 12, 4, 5);  // batch 16: 7 batches an epoch
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::adam, 16, 0);
  options.epochs = 3;
  const Trained epochs = train_model(kMixedLayers, data, options, world, 7);
  options.epochs = 0;
  options.iterations = 17;  // two epochs and 3 batches of the third
  const Trained iterations = train_model(kMixedLayers, data, options, world, 7);
  expect_same_on_every_rank(epochs.fingerprint, "after 3 epochs");
  expect_same_on_every_rank(iterations.fingerprint, "after 17 iterations");
  EXPECT_EQ(epochs.result.iterations, 21U);
  EXPECT_EQ(epochs.result.replica_checks, 3U);
  EXPECT_EQ(iterations.result.replica_checks, 3U);
  EXPECT_GT(epochs.result.communication_seconds, 0.0);
  EXPECT_LT(epochs.result.communication_seconds, epochs.result.seconds);
}

// Rank 1 nudges a weight after the backward pass of iteration 2: at the end of the epoch every
// rank throws, naming the drift, instead of training on with replicas that differ.
TEST_F(DataParallel, ReplicaThatDriftsIsFoundOnEveryRank) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(64, 12, 4, 6);
  cnn::Sequential model = model_for(kMixedLayers, data, 7);
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::sgd, 16, 0);
  options.epochs = 2;
  options.processes = world;
  options.after_backward = [](std::size_t iteration, cnn::ParameterBlock& block) {
    if (world->rank() == 1 && iteration == 2) block.values()[0] += 1e-3F;
  };
  std::string message;
  try {
    cnn::train(model, data, options);
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  expect_same_on_every_rank(message.empty() ? 0 : 1, "threw");
  EXPECT_NE(message.find("after iteration 4"), std::string::npos) << message;
  EXPECT_NE(message.find("process 1 differ"), std::string::npos) << message;
}

// ---- 9. Decisions that end training are agreed ------------------------------------------------

// A NaN in one gradient on rank 1 only: every rank stops with TrainingDiverged at that iteration,
// before the step, so the replicas keep the last good weights, identical everywhere.
TEST_F(DataParallel, NonFiniteGradientOnOneRankStopsEveryRankAtTheSameIteration) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(64, 12, 4, 7);
  cnn::Sequential model = model_for(kMixedLayers, data, 7);
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::sgd, 8, 10);
  options.processes = world;
  options.after_backward = [](std::size_t iteration, cnn::ParameterBlock& block) {
    if (world->rank() == 1 && iteration == 3) {
      block.gradients()[0] = std::numeric_limits<float>::quiet_NaN();
    }
  };
  std::size_t diverged_at = 0;
  try {
    cnn::train(model, data, options);
  } catch (const cnn::TrainingDiverged& error) {
    diverged_at = error.iteration();
  }
  const std::vector<std::uint64_t> iterations = world->all_gather(diverged_at);
  for (std::size_t r = 0; r < iterations.size(); ++r) {
    EXPECT_EQ(iterations[r], 3U) << "rank " << r << " (0: did not throw TrainingDiverged)";
  }
  expect_same_on_every_rank(cnn::replica_fingerprint(model), "weights after the divergence");
  const cnn::ParameterBlock& block = model.parameter_block();
  EXPECT_TRUE(std::all_of(block.values(), block.values() + block.count(),
                          [](float v) { return std::isfinite(v); }));
}

// A stop request (Ctrl-C) seen on rank 1 only, during iteration 4: every rank finishes that
// iteration, hands over the same checkpoint and returns interrupted after 4 iterations.
TEST_F(DataParallel, StopRequestOnOneRankInterruptsEveryRankAtTheSameIteration) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(64, 12, 4, 8);
  cnn::Sequential model = model_for(kMixedLayers, data, 7);
  std::atomic<bool> stop{false};
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::sgd, 8, 20);
  options.processes = world;
  options.stop_requested = &stop;
  options.after_backward = [&stop](std::size_t iteration, cnn::ParameterBlock&) {
    if (world->rank() == 1 && iteration == 4) stop = true;
  };
  std::size_t checkpoint_iteration = 0;
  options.on_checkpoint = [&](const cnn::TrainState& state) {
    checkpoint_iteration = state.iteration;
  };
  const cnn::TrainResult result = cnn::train(model, data, options);
  const std::vector<std::uint64_t> iterations =
      world->all_gather(result.interrupted ? result.iterations : 0);
  const std::vector<std::uint64_t> checkpoints = world->all_gather(checkpoint_iteration);
  for (std::size_t r = 0; r < iterations.size(); ++r) {
    EXPECT_EQ(iterations[r], 4U) << "rank " << r << " (0: not interrupted)";
    EXPECT_EQ(checkpoints[r], 4U) << "rank " << r;
  }
  expect_same_on_every_rank(cnn::replica_fingerprint(model), "weights after the stop");
}

// ---- 4. Sharding ------------------------------------------------------------------------------

// Every rank's shares of the global batches of an epoch, gathered on rank 0 in rank order, are
// each batch again: disjoint, and together the whole data set. 103 images in batches of 17 end
// with a batch of 1 image, which leaves ranks without any.
TEST_F(DataParallel, SharesOfEveryBatchAreDisjointAndCoverTheEpoch) {
  REQUIRE_LAUNCHER();
  const std::size_t examples = 103, batch = 17;
  for (const std::size_t epoch : {1U, 2U}) {
    const std::vector<std::uint32_t> order = cnn::epoch_order(examples, 5, epoch);
    std::vector<float> gathered_order;
    for (std::size_t begin = 0; begin < examples; begin += batch) {
      const std::size_t count = std::min(batch, examples - begin);
      const cnn::Share share = cnn::share_of(count, world->rank(), world->size());
      std::vector<float> mine;
      for (std::size_t i = 0; i < share.count; ++i) {
        mine.push_back(static_cast<float>(order[begin + share.begin + i]));
      }
      const std::vector<float> batch_again = world->gather_to_root(mine);
      if (world->rank() == 0) {
        // EXPECT, not ASSERT: returning now would leave the other ranks in the next gather.
        EXPECT_EQ(batch_again.size(), count) << "epoch " << epoch << ", batch at " << begin;
        for (std::size_t i = 0; i < std::min(count, batch_again.size()); ++i) {
          EXPECT_EQ(batch_again[i], static_cast<float>(order[begin + i])) << begin << "+" << i;
        }
        gathered_order.insert(gathered_order.end(), batch_again.begin(), batch_again.end());
      }
    }
    if (world->rank() == 0) {
      std::sort(gathered_order.begin(), gathered_order.end());
      std::vector<float> every(examples);
      std::iota(every.begin(), every.end(), 0.0F);
      EXPECT_EQ(gathered_order, every) << "epoch " << epoch;
    }
  }
  // Evaluation shares: whole batches of 10 of 103 images, every image exactly once.
  const cnn::Share share = cnn::evaluation_share(examples, 10, world->rank(), world->size());
  std::vector<float> mine;
  for (std::size_t i = share.begin; i < share.begin + share.count; ++i) {
    mine.push_back(static_cast<float>(i));
  }
  EXPECT_TRUE(share.begin % 10 == 0) << share.begin;
  const std::vector<float> all = world->gather_to_root(mine);
  if (world->rank() == 0) {
    std::vector<float> every(examples);
    std::iota(every.begin(), every.end(), 0.0F);
    EXPECT_EQ(all, every);
  }
}

// ---- 5. The last, uneven batch ----------------------------------------------------------------

// 33 images in batches of 8: the last batch of each epoch has 1 image, so all ranks but rank 0
// have none and still take the step (and batch normalisation's sums) with the others.
TEST_F(DataParallel, LastBatchSmallerThanTheRankCountTrainsAsOneProcess) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(33, 12, 4, 9);
  for (const cnn::OptimizerKind kind : {cnn::OptimizerKind::sgd, cnn::OptimizerKind::adam}) {
    cnn::TrainOptions options = options_for(kind, 8, 0);
    options.epochs = 3;  // 15 steps, 3 of them on one image
    options.augment.translate = 1.0;
    expect_same_as_one_process("last batch of 1 image, " + cnn::optimizer_name(kind),
                               layers_for(kind), data, options);
  }
}

// What a rank without images adds to the global gradient: nothing. The gradients of every layer
// after a backward pass of an empty share are zeros, not what an earlier batch left behind.
TEST_F(DataParallel, RankWithoutImagesContributesZeroGradients) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(33, 12, 4, 9);
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::sgd, 8, 0);
  options.epochs = 2;
  std::size_t empty_steps = 0, nonzero = 0;
  options.after_backward = [&](std::size_t iteration, cnn::ParameterBlock& block) {
    if (iteration % 5 != 0 || world->rank() == 0) return;  // the last batch: rank 0's image
    ++empty_steps;
    nonzero += static_cast<std::size_t>(std::count_if(
        block.gradients(), block.gradients() + block.count(), [](float g) { return g != 0.0F; }));
  };
  train_model(kMixedLayers, data, options, world, 7);
  EXPECT_EQ(empty_steps, world->rank() == 0 ? 0U : 2U);
  EXPECT_EQ(nonzero, 0U) << "gradients left over on rank " << world->rank();
}

// ---- 6. Batch normalisation -------------------------------------------------------------------

// The running statistics come from the global batch's: the same bits on every rank and within
// the tolerance of one process's.
TEST_F(DataParallel, BatchNormRunningStatisticsAgreeEverywhereAndMatchOneProcess) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(150, 12, 4, 10);
  const std::string architecture = "conv(4,3) bn relu maxpool(2) fc(12) bn relu fc(classes)";
  cnn::TrainOptions options = options_for(cnn::OptimizerKind::sgd, 15, 30);  // shares 8/7, 4/4/4/3
  const Trained alone = train_model(architecture, data, options, nullptr, 5);
  const Trained together = train_model(architecture, data, options, world, 5);
  std::uint64_t hash = 14695981039346656037ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(together.buffers.data());
  for (std::size_t i = 0; i < together.buffers.size() * sizeof(float); ++i) {
    hash = (hash ^ bytes[i]) * 1099511628211ULL;
  }
  expect_same_on_every_rank(hash, "running statistics");
  // Running means start at 0 and variances at 1; they must have moved.
  ASSERT_EQ(together.buffers.size(), 2 * 4 + 2 * 12U);
  EXPECT_GT(relative_difference(alone.buffers, std::vector<float>(together.buffers.size(), 1.0F)),
            0.1);
  const double difference = relative_difference(alone.buffers, together.buffers);
  EXPECT_LE(difference, kTolerance);
  report("batch norm running statistics", difference);
}

// ---- 7. Exact metrics -------------------------------------------------------------------------

// 1237 images (not a multiple of the batch nor of the rank count): the accuracy from the ranks'
// summed counts is one process's exactly, and rank 0's detailed evaluation holds every image once,
// in order, as one process's. Batches of 500 make 3 batches: with 4 ranks one has none.
TEST_F(DataParallel, EvaluationOnSharesEqualsOneProcessExactly) {
  REQUIRE_LAUNCHER();
  const cnn::Dataset data = patterns(1237, 12, 4, 11);
  // Trained a little, alone on every rank (the same model everywhere), so that it makes mistakes
  // of every kind.
  cnn::Sequential model = model_for(kMixedLayers, data, 3);
  cnn::train(model, data, options_for(cnn::OptimizerKind::sgd, 16, 2));
  for (const std::size_t batch : {100U, 500U}) {
    const double alone = cnn::evaluate(model, data, batch);
    const double together = cnn::evaluate(model, data, batch, world);
    EXPECT_EQ(together, alone) << "batch " << batch;
    EXPECT_GT(alone, 0.0);
    EXPECT_LT(alone, 0.99);
    if (world->rank() == 0) std::printf("accuracy with batches of %zu: %.4f\n", batch, alone);
    const cnn::Evaluation single = cnn::evaluate_in_detail(model, data, batch);
    const cnn::Evaluation shared = cnn::evaluate_in_detail(model, data, batch, world);
    if (world->rank() == 0) {
      EXPECT_EQ(shared.confusion, single.confusion);
      EXPECT_EQ(shared.predicted, single.predicted);
      EXPECT_EQ(shared.confidence, single.confidence);
      EXPECT_EQ(shared.logits, single.logits);
      EXPECT_EQ(shared.images(), data.size());
      EXPECT_EQ(shared.accuracy(), alone);
    } else {
      EXPECT_EQ(shared.images(), 0U);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // One kernel thread per rank: the ranks share this machine's cores, and the reference runs
  // with the same thread count.
  cnn::set_num_threads(1);
  if (!cnn::launched_by_mpi()) return RUN_ALL_TESTS();
  cnn::MpiSession session(argc, argv);
  world = &session.group();
  return cnn::testing::run_all_tests_on_every_rank(*world);
}
