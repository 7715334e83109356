#include "cnn/train/optimizer_options.hpp"

#include <stdexcept>

#include "train/kind_names.hpp"

namespace cnn {

std::vector<std::string> optimizer_names() {
  return {"sgd", "nesterov", "adam", "adamw"};
}

OptimizerKind parse_optimizer(const std::string& name) {
  return kind_named<OptimizerKind>(optimizer_names(), name, "optimizer");
}

std::string optimizer_name(OptimizerKind kind) {
  return optimizer_names()[static_cast<std::size_t>(kind)];
}

LearningRateSchedule check_optimizer_options(const OptimizerOptions& options,
                                             std::size_t total_steps) {
  // Each rule's own settings; those a rule does not read are not checked, as before.
  switch (options.kind) {
    case OptimizerKind::sgd:
    case OptimizerKind::nesterov:
      if (!(options.momentum >= 0.0 && options.momentum < 1.0)) {
        throw std::invalid_argument("momentum must be in [0, 1)");
      }
      break;
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      if (!(options.beta1 >= 0.0 && options.beta1 < 1.0) ||
          !(options.beta2 >= 0.0 && options.beta2 < 1.0)) {
        throw std::invalid_argument("betas must be in [0, 1)");
      }
      if (!(options.epsilon > 0.0)) throw std::invalid_argument("epsilon must be > 0");
      break;
    default:
      throw std::invalid_argument("unknown optimizer kind");
  }
  if (!(options.weight_decay >= 0.0)) throw std::invalid_argument("weight decay must be >= 0");
  ScheduleOptions schedule = options.schedule;
  if (schedule.total == 0) schedule.total = total_steps;
  return LearningRateSchedule(options.learning_rate, schedule);
}

}  // namespace cnn
