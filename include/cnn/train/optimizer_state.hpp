// What an optimizer carries from one step to the next, for checkpoints: its step count (which
// drives the learning-rate schedule) and its per-parameter tensors, each named "<parameter
// name>.<kind>" as in PyTorch's optimizer state (SGD: "0.weight.momentum_buffer"; Adam:
// "0.weight.exp_avg", "0.weight.exp_avg_sq") and shaped like its parameter. Kept apart from
// train_state.hpp so that the optimizers do not depend on the rest of a run's state.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "cnn/core/tensor.hpp"

namespace cnn {

struct OptimizerState {
  std::size_t steps = 0;
  std::map<std::string, Tensor> tensors;
};

}  // namespace cnn
