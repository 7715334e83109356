// The training loop and evaluation.
//
// train() is the algorithm of the design, one mini-batch at a time:
//   logits = model(x); L, dL/dlogits = softmax_cross_entropy(logits, y);
//   model.backward(dL/dlogits); the gradients become global (summed over the processes of a
//   data-parallel run); the finiteness check; optimizer.step()
//
// Data-parallel training (docs/scale-out.md): with TrainOptions::processes naming more than one
// process, every process runs train() on the same data with the same options. batch_size stays
// the global batch; each process takes its share of every batch (sharding.hpp), divides its loss
// by the global batch's real size, and the gradients are summed over the processes in one fixed
// order, so every process applies the same update and the result equals one process's up to the
// order of float sums. Random numbers depend on (seed, epoch, image, layer), batch normalisation
// takes the statistics of the global batch, and every decision that ends training (a non-finite
// loss or gradient, a stop request, finish_early) is agreed by all processes at the same step.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "cnn/core/process_group.hpp"
#include "cnn/data/augment.hpp"
#include "cnn/data/dataset.hpp"
#include "cnn/nn/parameter_block.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/optimizer.hpp"
#include "cnn/train/optimizer_options.hpp"
#include "cnn/train/train_state.hpp"

namespace cnn {

struct TrainOptions {
  std::size_t batch_size = 4;
  // Length of training: `epochs` passes over the data when epochs > 0, else `iterations` batches.
  std::size_t iterations = 2000;
  std::size_t epochs = 0;
  // The update rule, its learning rate and settings, and the learning-rate schedule; the defaults
  // are the design's.
  OptimizerOptions optimizer;
  // The processes of a data-parallel run; null (or one process): this process alone. Every
  // process must pass the same options and data.
  ProcessGroup* processes = nullptr;
  // Called after every backward pass with the iteration and the model's parameter block, before
  // the gradients become global: fault injection in the tests of data-parallel training (a NaN on
  // one process only, a replica that drifts), and a per-iteration hook that leaves the block
  // alone (the Python module checks for Ctrl-C there, setting stop_requested).
  std::function<void(std::size_t iteration, ParameterBlock& block)> after_backward;
  // Random moves of the training images (none by default), seeded from shuffle_seed.
  AugmentOptions augment;
  // Label smoothing ε of the training loss (softmax_cross_entropy.hpp), in [0, 1); 0: none. The
  // reported training loss is the smoothed one.
  double label_smoothing = 0.0;
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
  // Data-parallel runs: the wall time spent summing gradients and agreeing on decisions (batch
  // normalisation's sums, inside the forward and backward passes, not included), and how many
  // times the replicas were compared (after every epoch and at the end) and found identical.
  double communication_seconds = 0.0;
  std::size_t replica_checks = 0;
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

// Trains model (already initialised) on data; throws std::invalid_argument for a batch size of 0
// or smaller than the number of processes, a model whose output does not have data.classes()
// values or a resume state that does not fit, TrainingDiverged (divergence.hpp) when the loss or a
// gradient stops being finite, and std::runtime_error when the processes of a data-parallel run
// hold different models or optimizers at the start, or replicas that differ after an epoch.
// Data-parallel runs start from rank 0's weights, buffers and optimizer state (broadcast).
TrainResult train(Sequential& model, const Dataset& data, const TrainOptions& options,
                  const std::function<void(const TrainProgress&)>& on_progress = {});

// Fraction of data the model classifies correctly (arg-max of the logits). With processes, every
// process evaluates its share of whole batches (evaluation_share) and the counts of correct images
// are summed, which gives exactly one process's figure; every process must call it.
double evaluate(Sequential& model, const Dataset& data, std::size_t batch_size = 100,
                ProcessGroup* processes = nullptr);

// A hash (FNV-1a, 64 bits) of everything a replica must agree on: the parameter values, the
// buffers and, when given, the optimizer's state and step count.
std::uint64_t replica_fingerprint(Sequential& model, Optimizer* optimizer = nullptr);

}  // namespace cnn
