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
#include <vector>

#include "cnn/train/optimizer.hpp"

namespace cnn {

struct SgdOptions {
  double learning_rate = 0.01;
  double momentum = 0.9;
  double decay = 1e-5;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  // The design's time-based decay schedule.
  SGD(std::vector<Parameter> parameters, SgdOptions options);
  // Any schedule (options.decay is then unused).
  SGD(std::vector<Parameter> parameters, SgdOptions options, LearningRateSchedule schedule);

  void step() override;
  // "<parameter>.momentum_buffer" for every parameter.
  std::vector<StateTensor> state() override;
  std::string describe() const override;
  const SgdOptions& options() const { return options_; }

 private:
  std::vector<Tensor> velocities_;
  SgdOptions options_;
};

}  // namespace cnn
