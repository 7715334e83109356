// SGD with momentum and time-based learning-rate decay, exactly as the design:
//
//   lr_t = lr / (1 + t·decay)       t = number of steps taken before this one (0 first)
//   v    = γ·v + lr_t·g             v starts at 0
//   w    = w − v
//
// Optionally with L2 weight decay λ (g becomes g + λ·w), Nesterov momentum (w −= γ·v + lr_t·g)
// and any other learning-rate schedule (see lr_schedule.hpp). With neither, the update is the
// design's, bit for bit.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cnn/train/optimizer.hpp"

namespace cnn {

class SGD : public Optimizer {
 public:
  // Reads options.momentum, weight_decay, the learning rate and schedule, and whether kind is
  // nesterov; throws std::invalid_argument when kind is not sgd or nesterov.
  SGD(ParameterBlock& parameters, const OptimizerOptions& options, std::size_t total_steps = 0);

  void step() override;
  // "<parameter>.momentum_buffer" for every parameter.
  std::vector<StateTensor> state() override;
  std::string describe() const override;

 private:
  StateBlock velocity_;
  double momentum_, weight_decay_;
  bool nesterov_;
};

}  // namespace cnn
