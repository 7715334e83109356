#include "cnn/train/adam.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "kernels/kernels.hpp"

namespace cnn {

Adam::Adam(std::vector<Parameter> parameters, LearningRateSchedule schedule, double beta1,
           double beta2, double epsilon, double weight_decay, bool decoupled)
    : Optimizer(std::move(parameters), schedule),
      beta1_(beta1),
      beta2_(beta2),
      epsilon_(epsilon),
      weight_decay_(weight_decay),
      decoupled_(decoupled) {
  if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0)) {
    throw std::invalid_argument("Adam: betas must be in [0, 1)");
  }
  if (!(epsilon > 0.0)) throw std::invalid_argument("Adam: epsilon must be > 0");
  if (!(weight_decay >= 0.0)) throw std::invalid_argument("Adam: weight decay must be >= 0");
  for (const Parameter& p : parameters_) {
    m_.emplace_back(p.value->shape());
    v_.emplace_back(p.value->shape());
  }
}

void Adam::step() {
  // The one place every gradient is visible together (see Optimizer): all-reduce here.
  const auto lr = static_cast<float>(current_learning_rate());
  const double t = static_cast<double>(iterations_ + 1);
  const auto c1 = static_cast<float>(1.0 - std::pow(beta1_, t));
  const auto c2 = static_cast<float>(1.0 - std::pow(beta2_, t));
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = parameters_[i];
    kernels::adam_step(p.value->data(), m_[i].data(), v_[i].data(), p.grad->data(), p.value->size(),
                       lr, static_cast<float>(beta1_), static_cast<float>(beta2_),
                       static_cast<float>(epsilon_), c1, c2, static_cast<float>(weight_decay_),
                       decoupled_);
  }
  ++iterations_;
}

std::vector<StateTensor> Adam::state() {
  std::vector<StateTensor> all;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    all.push_back({parameters_[i].name + ".exp_avg", &m_[i]});
    all.push_back({parameters_[i].name + ".exp_avg_sq", &v_[i]});
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
