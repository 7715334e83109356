#include "cnn/train/sgd.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

#include "kernels/kernels.hpp"

namespace cnn {

namespace {

ScheduleOptions time_decay(double decay) {
  ScheduleOptions options;
  options.kind = ScheduleKind::time;
  options.decay = decay;
  return options;
}

}  // namespace

SGD::SGD(std::vector<Parameter> parameters, SgdOptions options)
    : SGD(std::move(parameters), options,
          LearningRateSchedule(
              options.learning_rate > 0.0 ? options.learning_rate : 1.0,  // checked below
              time_decay(options.decay >= 0.0 ? options.decay : 0.0))) {}

SGD::SGD(std::vector<Parameter> parameters, SgdOptions options, LearningRateSchedule schedule)
    : Optimizer(std::move(parameters), schedule), options_(options) {
  if (!(options_.learning_rate > 0.0))
    throw std::invalid_argument("SGD: learning rate must be > 0");
  if (!(options_.momentum >= 0.0 && options_.momentum < 1.0)) {
    throw std::invalid_argument("SGD: momentum must be in [0, 1)");
  }
  if (!(options_.decay >= 0.0)) throw std::invalid_argument("SGD: decay must be >= 0");
  if (!(options_.weight_decay >= 0.0)) {
    throw std::invalid_argument("SGD: weight decay must be >= 0");
  }
  velocities_.reserve(parameters_.size());
  for (const Parameter& p : parameters_) velocities_.emplace_back(p.value->shape());  // v0 = 0
}

void SGD::step() {
  // This is the one place every gradient of the model is visible together: a data-parallel
  // version all-reduces (averages) the gradients across processes right before this loop.
  const auto lr = static_cast<float>(current_learning_rate());
  const auto momentum = static_cast<float>(options_.momentum);
  const auto weight_decay = static_cast<float>(options_.weight_decay);
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = parameters_[i];
    if (weight_decay == 0.0f && !options_.nesterov) {
      // The design's update, kept as its own kernel so it stays bit-identical.
      kernels::sgd_momentum_step(p.value->data(), velocities_[i].data(), p.grad->data(),
                                 p.value->size(), lr, momentum);
    } else {
      kernels::sgd_step(p.value->data(), velocities_[i].data(), p.grad->data(), p.value->size(), lr,
                        momentum, weight_decay, options_.nesterov);
    }
  }
  ++iterations_;
}

std::vector<StateTensor> SGD::state() {
  std::vector<StateTensor> all;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    all.push_back({parameters_[i].name + ".momentum_buffer", &velocities_[i]});
  }
  return all;
}

std::string SGD::describe() const {
  std::ostringstream out;
  out << (options_.nesterov ? "SGD(Nesterov momentum " : "SGD(momentum ") << options_.momentum;
  if (options_.weight_decay > 0.0) out << ", weight decay " << options_.weight_decay;
  out << ")";
  return out.str();
}

}  // namespace cnn
