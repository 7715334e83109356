// SGD with momentum and time-based learning-rate decay, exactly as the design:
//
//   lr_t = lr / (1 + t·decay)       t = number of steps taken before this one (0 first)
//   v    = γ·v + lr_t·g             v starts at 0
//   w    = w − v
#pragma once

#include <cstddef>
#include <vector>

#include "cnn/layer.hpp"
#include "cnn/optimizer_state.hpp"

namespace cnn {

struct SgdOptions {
  double learning_rate = 0.01;
  double momentum = 0.9;
  double decay = 1e-5;
};

class SGD {
 public:
  SGD(std::vector<Parameter> parameters, SgdOptions options);

  // One update of every parameter from its current gradient.
  void step();
  // Learning rate the next step will use.
  double current_learning_rate() const;
  std::size_t iterations() const { return iterations_; }
  const SgdOptions& options() const { return options_; }

  // For checkpoints: the step count and one tensor per parameter, "velocity.<parameter name>".
  OptimizerState state() const;
  // Continues from a saved state. Throws std::invalid_argument naming the first tensor that is
  // missing, unexpected or of the wrong shape.
  void set_state(const OptimizerState& state);

 private:
  std::vector<Parameter> parameters_;
  std::vector<Tensor> velocities_;
  SgdOptions options_;
  std::size_t iterations_ = 0;
};

}  // namespace cnn
