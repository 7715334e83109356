// Optimizer: the interface of every update rule (sgd.hpp, adam.hpp; make_optimizer.hpp picks one
// from OptimizerOptions).
//
// An optimizer works on a model's ParameterBlock: step() updates every value of the block from
// every gradient in one kernel call, and its own state (momentum, Adam's moments) is one block
// laid out like it. The gradients it reads are already global: for data-parallel training they
// are summed over the processes in the training step's one synchronisation stage
// (TrainOptions::processes, see training.hpp), before the finiteness check and before step(), so
// every process decides alike.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cnn/nn/parameter_block.hpp"
#include "cnn/train/lr_schedule.hpp"
#include "cnn/train/optimizer_options.hpp"
#include "cnn/train/optimizer_state.hpp"

namespace cnn {

// A named tensor of optimizer state ("0.weight.momentum_buffer", "0.weight.exp_avg", ... as in
// PyTorch's optimizer state), for checkpoints.
struct StateTensor {
  std::string name;
  Tensor* value;
};

// Optimizer state laid out like the parameter block (one allocation, zero at the start, the same
// offsets), with a view per parameter named "<parameter>.<suffix>".
class StateBlock {
 public:
  StateBlock(const ParameterBlock& parameters, const std::string& suffix);
  float* data() { return block_.data(); }
  std::size_t size() const { return views_.size(); }
  // The view of parameter i, for Optimizer::state().
  StateTensor tensor(std::size_t i) { return {names_[i], &views_[i]}; }

 private:
  Tensor block_;
  std::vector<std::string> names_;
  std::vector<Tensor> views_;
};

class Optimizer {
 public:
  // Checks options (check_optimizer_options) and builds the schedule over total_steps. The
  // block's storage must outlive the optimizer (moving the model that owns it is fine).
  Optimizer(ParameterBlock& parameters, const OptimizerOptions& options, std::size_t total_steps);
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
  // The block: count_ values and as many gradients, gaps included (they stay zero).
  float* values_;
  const float* gradients_;
  std::size_t count_;
  LearningRateSchedule schedule_;
  std::size_t iterations_ = 0;
};

}  // namespace cnn
