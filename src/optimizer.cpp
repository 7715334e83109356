#include "cnn/optimizer.hpp"

#include <stdexcept>

#include "cnn/adam.hpp"
#include "cnn/sgd.hpp"

namespace cnn {

Optimizer::Optimizer(std::vector<Parameter> parameters, LearningRateSchedule schedule)
    : parameters_(std::move(parameters)), schedule_(schedule) {}

std::vector<std::string> optimizer_names() {
  return {"sgd", "nesterov", "adam", "adamw"};
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "nesterov") return OptimizerKind::nesterov;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  throw std::invalid_argument("unknown optimizer '" + name +
                              "' (known: sgd, nesterov, adam, adamw)");
}

std::string optimizer_name(OptimizerKind kind) {
  return optimizer_names()[static_cast<std::size_t>(kind)];
}

std::unique_ptr<Optimizer> make_optimizer(std::vector<Parameter> parameters, double learning_rate,
                                          double momentum, double decay,
                                          const OptimizerOptions& options,
                                          std::size_t total_steps) {
  ScheduleOptions schedule = options.schedule;
  schedule.decay = decay;
  if (schedule.total == 0) schedule.total = total_steps;
  const LearningRateSchedule rates(learning_rate, schedule);
  switch (options.kind) {
    case OptimizerKind::sgd:
    case OptimizerKind::nesterov:
      return std::make_unique<SGD>(std::move(parameters),
                                   SgdOptions{learning_rate, momentum, decay, options.weight_decay,
                                              options.kind == OptimizerKind::nesterov},
                                   rates);
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      return std::make_unique<Adam>(std::move(parameters), rates, options.beta1, options.beta2,
                                    options.epsilon, options.weight_decay,
                                    options.kind == OptimizerKind::adamw);
  }
  throw std::invalid_argument("unknown optimizer kind");
}

}  // namespace cnn
