#include "cnn/sgd.hpp"

#include <stdexcept>
#include <string>

#include "cnn/kernels.hpp"

namespace cnn {

SGD::SGD(std::vector<Parameter> parameters, SgdOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  if (!(options_.learning_rate > 0.0))
    throw std::invalid_argument("SGD: learning rate must be > 0");
  if (!(options_.momentum >= 0.0 && options_.momentum < 1.0)) {
    throw std::invalid_argument("SGD: momentum must be in [0, 1)");
  }
  if (!(options_.decay >= 0.0)) throw std::invalid_argument("SGD: decay must be >= 0");
  velocities_.reserve(parameters_.size());
  for (const Parameter& p : parameters_) velocities_.emplace_back(p.value->shape());  // v0 = 0
}

double SGD::current_learning_rate() const {
  return options_.learning_rate / (1.0 + static_cast<double>(iterations_) * options_.decay);
}

OptimizerState SGD::state() const {
  OptimizerState state;
  state.steps = iterations_;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    state.tensors.emplace("velocity." + parameters_[i].name, velocities_[i]);
  }
  return state;
}

void SGD::set_state(const OptimizerState& state) {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const std::string name = "velocity." + parameters_[i].name;
    const auto it = state.tensors.find(name);
    if (it == state.tensors.end()) {
      throw std::invalid_argument("SGD: optimizer state has no tensor '" + name + "'");
    }
    if (!(it->second.shape() == velocities_[i].shape())) {
      throw std::invalid_argument("SGD: optimizer tensor '" + name + "' has shape " +
                                  it->second.shape().to_string() + ", the parameter has " +
                                  velocities_[i].shape().to_string());
    }
  }
  if (state.tensors.size() != parameters_.size()) {
    for (const auto& [name, tensor] : state.tensors) {
      bool known = false;
      for (const Parameter& p : parameters_) known = known || name == "velocity." + p.name;
      if (!known) throw std::invalid_argument("SGD: unexpected optimizer tensor '" + name + "'");
    }
  }
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    velocities_[i] = state.tensors.at("velocity." + parameters_[i].name);
  }
  iterations_ = state.steps;
}

void SGD::step() {
  // This is the one place every gradient of the model is visible together: a data-parallel
  // version all-reduces (averages) the gradients across processes right before this loop.
  const auto lr = static_cast<float>(current_learning_rate());
  const auto momentum = static_cast<float>(options_.momentum);
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = parameters_[i];
    kernels::sgd_momentum_step(p.value->data(), velocities_[i].data(), p.grad->data(),
                               p.value->size(), lr, momentum);
  }
  ++iterations_;
}

}  // namespace cnn
