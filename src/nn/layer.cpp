#include "cnn/nn/layer.hpp"

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

void Layer::require(const Shape& actual, const Shape& expected, std::string_view what) const {
  if (!(actual == expected)) require_shape(actual, expected, describe() + " " + std::string(what));
}

}  // namespace cnn
