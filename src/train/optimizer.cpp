#include "cnn/train/optimizer.hpp"

#include <stdexcept>

#include "cnn/train/adam.hpp"
#include "cnn/train/sgd.hpp"

namespace cnn {

Optimizer::Optimizer(std::vector<Parameter> parameters, LearningRateSchedule schedule)
    : parameters_(std::move(parameters)), schedule_(schedule) {}

OptimizerState Optimizer::checkpoint_state() {
  OptimizerState saved;
  saved.steps = iterations_;
  for (const StateTensor& tensor : state()) saved.tensors.emplace(tensor.name, *tensor.value);
  return saved;
}

void Optimizer::set_state(const OptimizerState& saved) {
  const std::vector<StateTensor> own = state();
  // Check everything first, so that a bad checkpoint leaves the optimizer as it was.
  for (const StateTensor& tensor : own) {
    const auto it = saved.tensors.find(tensor.name);
    if (it == saved.tensors.end()) {
      throw std::invalid_argument(describe() + ": optimizer state has no tensor '" + tensor.name +
                                  "'");
    }
    if (!(it->second.shape() == tensor.value->shape())) {
      throw std::invalid_argument(describe() + ": optimizer tensor '" + tensor.name +
                                  "' has shape " + it->second.shape().to_string() + ", expected " +
                                  tensor.value->shape().to_string());
    }
  }
  for (const auto& [name, value] : saved.tensors) {
    bool known = false;
    for (const StateTensor& tensor : own) known = known || tensor.name == name;
    if (!known)
      throw std::invalid_argument(describe() + ": unexpected optimizer tensor '" + name + "'");
  }
  for (const StateTensor& tensor : own) *tensor.value = saved.tensors.at(tensor.name);
  iterations_ = saved.steps;
}

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
