// OptimizerOptions: every setting of the update rule and its learning-rate schedule, in one place,
// checked in one place (check_optimizer_options) whichever optimizer reads them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cnn/train/lr_schedule.hpp"

namespace cnn {

// Rules (g the gradient, γ the momentum, λ the weight decay, lr_t from the schedule):
//   sgd       the design's momentum SGD, v = γ·v + lr_t·(g + λ·w); w −= v (λ = 0 by default)
//   nesterov  the same with Nesterov's look-ahead, w −= γ·v + lr_t·(g + λ·w)
//   adam      Adam (Kingma and Ba 2015), L2 weight decay added to the gradient
//   adamw     Adam with decoupled weight decay (Loshchilov and Hutter 2019), w −= lr_t·λ·w
enum class OptimizerKind { sgd, nesterov, adam, adamw };

// "sgd", "nesterov", "adam", "adamw".
std::vector<std::string> optimizer_names();
// Throws std::invalid_argument listing the known names.
OptimizerKind parse_optimizer(const std::string& name);
std::string optimizer_name(OptimizerKind kind);

// The defaults are the design's: SGD with learning rate 0.01, momentum 0.9 and the time-based
// decay lr_t = lr / (1 + t·1e-5).
struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::sgd;
  double learning_rate = 0.01;                        // the schedule's base rate
  double momentum = 0.9;                              // γ: sgd, nesterov
  double weight_decay = 0.0;                          // λ: every rule
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // adam, adamw
  // Kind and shape of the schedule, the time decay included; total 0 means "the length of
  // training" (filled in from the total steps the optimizer is built with).
  ScheduleOptions schedule{ScheduleKind::time, 1e-5};
};

// Checks every setting (the rule's here, the learning rate and the schedule's in
// LearningRateSchedule) and returns the schedule they describe over total_steps steps. Throws
// std::invalid_argument naming the first setting out of range.
LearningRateSchedule check_optimizer_options(const OptimizerOptions& options,
                                             std::size_t total_steps);

}  // namespace cnn
