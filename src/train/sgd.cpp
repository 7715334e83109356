#include "cnn/train/sgd.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

#include "kernels/kernels.hpp"

namespace cnn {

SGD::SGD(ParameterBlock& parameters, const OptimizerOptions& options, std::size_t total_steps)
    : Optimizer(parameters, options, total_steps),
      velocity_(parameters, "momentum_buffer"),  // v0 = 0
      momentum_(options.momentum),
      weight_decay_(options.weight_decay),
      nesterov_(options.kind == OptimizerKind::nesterov) {
  if (options.kind != OptimizerKind::sgd && options.kind != OptimizerKind::nesterov) {
    throw std::invalid_argument("SGD: the optimizer is " + optimizer_name(options.kind));
  }
}

void SGD::step() {
  // The gradients are global already (the training step's synchronisation stage). One call over
  // the whole block: each element's update is independent, so the bits are those of one call
  // per parameter.
  const auto lr = static_cast<float>(current_learning_rate());
  const auto momentum = static_cast<float>(momentum_);
  const auto weight_decay = static_cast<float>(weight_decay_);
  if (weight_decay == 0.0f && !nesterov_) {
    // The design's update, kept as its own kernel so it stays bit-identical.
    kernels::sgd_momentum_step(values_, velocity_.data(), gradients_, count_, lr, momentum);
  } else {
    kernels::sgd_step(values_, velocity_.data(), gradients_, count_, lr, momentum, weight_decay,
                      nesterov_);
  }
  ++iterations_;
}

std::vector<StateTensor> SGD::state() {
  std::vector<StateTensor> all;
  for (std::size_t i = 0; i < velocity_.size(); ++i) all.push_back(velocity_.tensor(i));
  return all;
}

std::string SGD::describe() const {
  std::ostringstream out;
  out << (nesterov_ ? "SGD(Nesterov momentum " : "SGD(momentum ") << momentum_;
  if (weight_decay_ > 0.0) out << ", weight decay " << weight_decay_;
  out << ")";
  return out.str();
}

}  // namespace cnn
