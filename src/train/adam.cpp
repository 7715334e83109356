#include "cnn/train/adam.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "kernels/kernels.hpp"

namespace cnn {

Adam::Adam(ParameterBlock& parameters, const OptimizerOptions& options, std::size_t total_steps)
    : Optimizer(parameters, options, total_steps),
      m_(parameters, "exp_avg"),
      v_(parameters, "exp_avg_sq"),
      beta1_(options.beta1),
      beta2_(options.beta2),
      epsilon_(options.epsilon),
      weight_decay_(options.weight_decay),
      decoupled_(options.kind == OptimizerKind::adamw) {
  if (options.kind != OptimizerKind::adam && options.kind != OptimizerKind::adamw) {
    throw std::invalid_argument("Adam: the optimizer is " + optimizer_name(options.kind));
  }
}

void Adam::step() {
  // The gradients are global already (the training step's synchronisation stage). One call over
  // the whole block, element by element as one call per parameter would.
  const auto lr = static_cast<float>(current_learning_rate());
  const double t = static_cast<double>(iterations_ + 1);
  const auto c1 = static_cast<float>(1.0 - std::pow(beta1_, t));
  const auto c2 = static_cast<float>(1.0 - std::pow(beta2_, t));
  kernels::adam_step(values_, m_.data(), v_.data(), gradients_, count_, lr,
                     static_cast<float>(beta1_), static_cast<float>(beta2_),
                     static_cast<float>(epsilon_), c1, c2, static_cast<float>(weight_decay_),
                     decoupled_);
  ++iterations_;
}

std::vector<StateTensor> Adam::state() {
  std::vector<StateTensor> all;
  for (std::size_t i = 0; i < m_.size(); ++i) {
    all.push_back(m_.tensor(i));
    all.push_back(v_.tensor(i));
  }
  return all;
}

std::string Adam::describe() const {
  std::ostringstream out;
  out << (decoupled_ ? "AdamW(" : "Adam(") << "betas " << beta1_ << " " << beta2_ << ", eps "
      << epsilon_;
  if (weight_decay_ > 0.0) out << ", weight decay " << weight_decay_;
  out << ")";
  return out.str();
}

}  // namespace cnn
