// The training loop as `cnn train` runs it: the library's train() with a progress display, the
// periodic loss lines, validation during training (with early stopping and --keep-best) and the
// metrics log of the run.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "cnn/data/dataset.hpp"
#include "cnn/io/checkpoint.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/training.hpp"

namespace cnn::cli {

struct SessionSettings {
  bool quiet = false;
  std::size_t report_every = 1;   // iterations between loss lines
  std::size_t log_every = 1;      // iterations between metrics-log lines
  std::size_t eval_every = 0;     // iterations between validation runs (0: only at the end)
  std::filesystem::path metrics;  // the metrics log to write (empty: none, as on every process
                                  // of a data-parallel run but the first)
  bool append_metrics = false;    // a resumed run: add to the log (cut at the checkpoint already)
  std::size_t early_stop = 0;     // stop after this many validation runs without a better one
  bool keep_best = false;         // keep the weights of the best validation run
};

// Where a run stands beyond the library's TrainState, kept across a resume in the checkpoint's
// extras: the run folder, the training time so far and the best validation run so far.
struct RunProgress {
  std::string folder;             // the run folder, absolute
  double training_seconds = 0.0;  // of the whole run, every process of it, validation excluded
  std::size_t evaluations = 0;    // validation runs so far
  std::optional<double> best_accuracy;
  std::size_t best_iteration = 0;
  std::size_t best_evaluation = 0;             // 1-based number of the best validation run
  std::size_t evaluations_since_best = 0;      // validation runs since the best one
  std::map<std::string, Tensor> best_weights;  // --keep-best: its parameters and buffers
  // The loss sums since the last console line and since the last metrics line, so that a resumed
  // run prints and logs the same averages as one never stopped.
  double report_loss_sum = 0.0, log_loss_sum = 0.0;
  std::size_t report_loss_count = 0, log_loss_count = 0;
  // Processes of the data-parallel run (1: one process) that trained up to here.
  std::size_t processes = 1;

  CheckpointExtras extras() const;
  // From a checkpoint's extras (those of an older checkpoint: nothing but zeros). Throws
  // CheckpointError naming `path` for a value that is not a number.
  static RunProgress from(const CheckpointExtras& extras, const std::string& path);
};

struct SessionResult {
  TrainResult train;
  double training_seconds = 0.0;    // of the whole run (RunProgress), validation excluded
  double validation_seconds = 0.0;  // time spent in validation runs during training (this process)
  std::optional<double> final_validation_accuracy;  // of the last validation run, at...
  std::size_t final_validation_iteration = 0;       // ...this iteration (the last one)
};

// options.report_every is overridden (the session looks at every iteration), options.finish_early
// set for early stopping; iterations is plan_iterations(options, train_set.size()), which the
// display counts down. `progress` is updated as training goes (the checkpoints read it).
SessionResult train_with_progress(Sequential& model, const Dataset& train_set,
                                  const Dataset& val_set, TrainOptions options,
                                  const IterationPlan& iterations, const SessionSettings& settings,
                                  RunProgress& progress);

// Copies the weights and buffers of `model` / puts them back (for --keep-best).
std::map<std::string, Tensor> weights_of(Sequential& model);
void restore_weights(Sequential& model, const std::map<std::string, Tensor>& weights);

}  // namespace cnn::cli
