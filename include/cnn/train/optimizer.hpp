// Optimizer: the interface of every update rule, and the factory that picks one by name.
//
// step() is the one place that sees every gradient of the model together: a data-parallel
// version all-reduces (averages) the gradients across processes at the start of step(), before
// any rule reads them. Keep every optimizer going through Optimizer::step for that reason.
//
// Rules (g the gradient, λ the weight decay, lr_t from the schedule, see lr_schedule.hpp):
//   sgd       the design's momentum SGD, v = γ·v + lr_t·(g + λ·w); w −= v (λ = 0 by default)
//   nesterov  the same with Nesterov's look-ahead, w −= γ·v + lr_t·(g + λ·w)
//   adam      Adam (Kingma and Ba 2015), L2 weight decay added to the gradient
//   adamw     Adam with decoupled weight decay (Loshchilov and Hutter 2019), w −= lr_t·λ·w
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "cnn/nn/layer.hpp"
#include "cnn/train/lr_schedule.hpp"
#include "cnn/train/optimizer_state.hpp"

namespace cnn {

// A named tensor of optimizer state ("0.weight.momentum_buffer", "0.weight.exp_avg", ... as in
// PyTorch's optimizer state), for checkpoints.
struct StateTensor {
  std::string name;
  Tensor* value;
};

class Optimizer {
 public:
  Optimizer(std::vector<Parameter> parameters, LearningRateSchedule schedule);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter from its current gradient, then iterations() + 1.
  virtual void step() = 0;
  // Every tensor of state besides the step count, so that a checkpoint can save and restore it.
  virtual std::vector<StateTensor> state() = 0;
  // "SGD(momentum 0.9)", "AdamW(betas 0.9 0.999, eps 1e-08, weight decay 0.0005)", ...
  virtual std::string describe() const = 0;

  // Learning rate the next step will use.
  double current_learning_rate() const { return schedule_.at(iterations_); }
  std::size_t iterations() const { return iterations_; }
  // Restores the step count from a checkpoint (the schedule and Adam's bias correction use it).
  void set_iterations(std::size_t steps) { iterations_ = steps; }
  const LearningRateSchedule& schedule() const { return schedule_; }

  // For checkpoints: the step count and a copy of every tensor of state(), by its name.
  OptimizerState checkpoint_state();
  // Continues from a saved state (of the same kind of optimizer over the same parameters).
  // Throws std::invalid_argument naming the first tensor that is missing, unexpected or of the
  // wrong shape; nothing is changed then.
  void set_state(const OptimizerState& state);

 protected:
  std::vector<Parameter> parameters_;
  LearningRateSchedule schedule_;
  std::size_t iterations_ = 0;
};

enum class OptimizerKind { sgd, nesterov, adam, adamw };

// "sgd", "nesterov", "adam", "adamw".
std::vector<std::string> optimizer_names();
// Throws std::invalid_argument listing the known names.
OptimizerKind parse_optimizer(const std::string& name);
std::string optimizer_name(OptimizerKind kind);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::sgd;
  double weight_decay = 0.0;                          // λ
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // Adam
  ScheduleOptions schedule;  // kind and shape; the base rate and time decay come with the call
};

// Builds the optimizer over parameters. learning_rate, momentum and decay are the design's
// three SGD settings (momentum is used by sgd and nesterov, decay by the time schedule).
// total_steps fills schedule.total when it is 0. Throws std::invalid_argument for settings out of
// range.
std::unique_ptr<Optimizer> make_optimizer(std::vector<Parameter> parameters, double learning_rate,
                                          double momentum, double decay,
                                          const OptimizerOptions& options, std::size_t total_steps);

}  // namespace cnn
