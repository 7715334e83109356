// What an optimizer carries from one step to the next, for checkpoints: its step count (which
// drives the learning-rate schedule) and its per-parameter tensors, each named
// "<kind>.<parameter name>" (SGD: "velocity.0.weight", ...) and shaped like its parameter.
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
