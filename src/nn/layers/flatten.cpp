#include "cnn/nn/layers/flatten.hpp"

#include "kernels/kernels.hpp"

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
  kernels::copy(x.data(), y.data(), x.size());
}

void Flatten::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(dy.shape(), output_shape(x.shape()), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::copy(dy.data(), dx->data(), dy.size());
}

}  // namespace cnn
