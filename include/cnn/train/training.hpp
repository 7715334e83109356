// The training loop and evaluation.
//
// train() is the algorithm of the design, one mini-batch at a time:
//   logits = model(x); L, dL/dlogits = softmax_cross_entropy(logits, y);
//   model.backward(dL/dlogits); gradient_sync (gradients become global); the finiteness check;
//   optimizer.step()
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "cnn/data/augment.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/nn/parameter_block.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/optimizer_options.hpp"
#include "cnn/train/train_state.hpp"

namespace cnn {

// The stage of the training step where the gradients become global: called after every backward
// pass with the model's parameter block and the batch's loss, before the finiteness check and the
// update, so that every process of a data-parallel run decides (stop or step) and updates alike.
// A data-parallel run averages the gradient block (one all-reduce over gradients(), count()) and
// the loss across processes here; one process has nothing to do.
using GradientSync = std::function<void(ParameterBlock& block, double& loss)>;

struct TrainOptions {
  std::size_t batch_size = 4;
  // Length of training: `epochs` passes over the data when epochs > 0, else `iterations` batches.
  std::size_t iterations = 2000;
  std::size_t epochs = 0;
  // The update rule, its learning rate and settings, and the learning-rate schedule; the defaults
  // are the design's.
  OptimizerOptions optimizer;
  // Empty: one process, the gradients are global already (see GradientSync).
  GradientSync gradient_sync;
  // Random moves of the training images (none by default), seeded from shuffle_seed.
  AugmentOptions augment;
  // Seeds the order of the images (reshuffled every epoch).
  std::uint64_t shuffle_seed = 1;
  // Iterations between progress reports (0: none).
  std::size_t report_every = 100;

  // Checkpoints and interruption (docs/reliability.md). resume: continue from this state (the
  // model already holds the checkpoint's weights) instead of from the start.
  const TrainState* resume = nullptr;
  // on_checkpoint receives the state after every checkpoint_every-th iteration (0: never) but
  // the last, and after the iteration during which stop_requested became true; training then
  // returns with TrainResult::interrupted set.
  std::size_t checkpoint_every = 0;
  std::function<void(const TrainState&)> on_checkpoint;
  const std::atomic<bool>* stop_requested = nullptr;
  // Asked after each iteration's progress report (which may have run a validation, as cnn train's
  // early stopping does): true ends training after that iteration as if it were the last, with
  // no checkpoint and TrainResult::stopped_early set.
  std::function<bool()> finish_early;
};

struct TrainProgress {
  std::size_t iteration = 0;  // iterations done so far
  std::size_t total_iterations = 0;
  std::size_t epoch = 0;       // 1-based epoch of the last batch
  double loss = 0.0;           // mean loss of the batches since the previous report
  double learning_rate = 0.0;  // learning rate of the next step
  double seconds = 0.0;        // wall time since training started
  std::size_t images = 0;      // images trained on so far, counting repeats
};

struct TrainResult {
  std::size_t iterations = 0;
  std::size_t images = 0;      // images seen, counting repeats
  double seconds = 0.0;        // wall time of the loop, evaluation excluded
  double last_loss = 0.0;      // mean loss of the last report period
  bool interrupted = false;    // stopped early by stop_requested; `iterations` were done
  bool stopped_early = false;  // ended by finish_early after `iterations` iterations
};

// How long train() runs for these options on `examples` images, computed once for everything
// that counts iterations (the loop, progress displays, epoch-based schedules).
struct IterationPlan {
  std::size_t total = 0;      // iterations train() runs
  std::size_t per_epoch = 0;  // batches in one pass over the data, the smaller last one included
  std::size_t epochs = 0;     // passes begun: options.epochs, or total / per_epoch rounded up
};

// Throws std::invalid_argument for a batch size of 0.
IterationPlan plan_iterations(const TrainOptions& options, std::size_t examples);

// Trains model (already initialised) on data; throws std::invalid_argument for a batch size of 0,
// a model whose output does not have data.classes() values or a resume state that does not fit,
// and TrainingDiverged (divergence.hpp) when the loss or a gradient stops being finite.
TrainResult train(Sequential& model, const Dataset& data, const TrainOptions& options,
                  const std::function<void(const TrainProgress&)>& on_progress = {});

// Fraction of data the model classifies correctly (arg-max of the logits).
double evaluate(Sequential& model, const Dataset& data, std::size_t batch_size = 100);

}  // namespace cnn
