#include "cnn/nn/layer.hpp"

#include <stdexcept>
#include <string>

#include "cnn/core/instruction_set.hpp"

namespace cnn {

Layer::Layer() {
  require_cpu_support();
}

double weight_init_variance(WeightInit init, double fan_in, double fan_out, double gain) {
  switch (init) {
    case WeightInit::he:
      return 2.0 / fan_in;
    case WeightInit::lecun:
      return 1.0 / fan_in;
    case WeightInit::glorot:
      return 2.0 / (fan_in + fan_out);
    case WeightInit::automatic:
      break;
  }
  return gain / fan_in;
}

void Layer::forward_after_relu(const Tensor& /*x*/, Tensor& /*y*/, bool /*training*/) {
  throw std::logic_error(describe() + " cannot fuse a ReLU before it");
}

void Layer::backward_after_relu(const Tensor& /*x*/, const Tensor& /*y*/, const Tensor& /*dy*/,
                                Tensor* /*dx*/) {
  throw std::logic_error(describe() + " cannot fuse a ReLU before it");
}

void Layer::require(const Shape& actual, const Shape& expected, std::string_view what) const {
  if (!(actual == expected)) require_shape(actual, expected, describe() + " " + std::string(what));
}

}  // namespace cnn
