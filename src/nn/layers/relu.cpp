#include "cnn/nn/layers/relu.hpp"

#include "kernels/kernels.hpp"

namespace cnn {

void ReLU::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  require(y.shape(), x.shape(), "output");
  kernels::relu_forward(x.data(), y.data(), x.size());
}

void ReLU::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(dy.shape(), x.shape(), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::relu_backward(x.data(), dy.data(), dx->data(), x.size());
}

}  // namespace cnn
