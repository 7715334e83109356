// Numerical safety of training: a step whose loss or any gradient is NaN or infinite stops
// training before the optimizer applies it, so the weights (and any checkpoint) stay the last
// good ones.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "cnn/nn/sequential.hpp"

namespace cnn {

// "training diverged at iteration 3: the loss is nan; the first layer with non-finite values is
// layer 4 (Linear(363, 84)): its output". Thrown by train().
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(const std::string& message, std::size_t iteration)
      : std::runtime_error(message), iteration_(iteration) {}
  // The iteration (1-based) whose step was not applied.
  std::size_t iteration() const { return iteration_; }

 private:
  std::size_t iteration_;
};

// Cheap on the normal path (one pass over the model's gradient block). When loss or a gradient is
// not finite, looks through the layers in order for the first one whose weights, output on the
// batch x, or gradients hold a NaN or an infinity, and throws TrainingDiverged naming it.
void check_step_is_finite(double loss, Sequential& model, const Tensor& x, std::size_t iteration);

}  // namespace cnn
