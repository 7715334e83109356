// The training loop as `cnn train` runs it: the library's train() with a progress display, the
// periodic loss lines, validation during training and the metrics log of the run.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>

#include "cnn/data/dataset.hpp"
#include "cnn/nn/sequential.hpp"
#include "cnn/train/training.hpp"

namespace cnn::cli {

struct SessionSettings {
  bool quiet = false;
  std::size_t report_every = 1;   // iterations between loss lines
  std::size_t log_every = 1;      // iterations between metrics-log lines
  std::size_t eval_every = 0;     // iterations between validation runs (0: only at the end)
  std::filesystem::path metrics;  // the metrics log to write
};

struct SessionResult {
  TrainResult train;
  double training_seconds = 0.0;    // train.seconds without the validation runs
  double validation_seconds = 0.0;  // time spent in validation runs during training
  std::optional<double>
      final_validation_accuracy;  // after the last iteration, when val is not empty
};

// options.report_every is overridden (the session looks at every iteration); iterations is
// plan_iterations(options, train_set.size()), which the display counts down.
SessionResult train_with_progress(Sequential& model, const Dataset& train_set,
                                  const Dataset& val_set, TrainOptions options,
                                  const IterationPlan& iterations, const SessionSettings& settings);

}  // namespace cnn::cli
