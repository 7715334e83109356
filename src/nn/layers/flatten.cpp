#include "cnn/nn/layers/flatten.hpp"

#include <algorithm>

namespace cnn {

Shape Flatten::output_shape(const Shape& input) const {
  if (input.rank() < 2) {
    throw ShapeError("Flatten: expected input [N, ...] of rank 2 or more, got " +
                     input.to_string());
  }
  std::size_t features = 1;
  for (std::size_t axis = 1; axis < input.rank(); ++axis) features *= input[axis];
  return Shape{input[0], features};
}

void Flatten::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  require(y.shape(), output_shape(x.shape()), "output");
  std::copy(x.data(), x.data() + x.size(), y.data());
}

void Flatten::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(dy.shape(), output_shape(x.shape()), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  std::copy(dy.data(), dy.data() + dy.size(), dx->data());
}

}  // namespace cnn
