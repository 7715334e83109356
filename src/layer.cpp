#include "cnn/layer.hpp"

#include <string>

namespace cnn {

void Layer::require(const Shape& actual, const Shape& expected, std::string_view what) const {
  if (!(actual == expected)) require_shape(actual, expected, describe() + " " + std::string(what));
}

}  // namespace cnn
