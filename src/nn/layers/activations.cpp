// Tanh, Sigmoid and LeakyReLU: elementwise layers that only check shapes and call the kernels.
#include <cmath>
#include <sstream>

#include "cnn/nn/layers/leaky_relu.hpp"
#include "cnn/nn/layers/sigmoid.hpp"
#include "cnn/nn/layers/tanh.hpp"
#include "kernels/kernels.hpp"

namespace cnn {

void Tanh::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  require(y.shape(), x.shape(), "output");
  kernels::tanh_forward(x.data(), y.data(), x.size());
}

void Tanh::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(y.shape(), x.shape(), "output");
  require(dy.shape(), x.shape(), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::tanh_backward(y.data(), dy.data(), dx->data(), x.size());
}

void Sigmoid::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  require(y.shape(), x.shape(), "output");
  kernels::sigmoid_forward(x.data(), y.data(), x.size());
}

void Sigmoid::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(y.shape(), x.shape(), "output");
  require(dy.shape(), x.shape(), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::sigmoid_backward(y.data(), dy.data(), dx->data(), x.size());
}

LeakyReLU::LeakyReLU(double slope) : slope_(slope) {
  if (!(slope >= 0.0 && slope < 1.0)) {
    throw std::invalid_argument(describe() + ": slope must be in [0, 1)");
  }
}

InitRole LeakyReLU::init_role() const {
  return InitRole::activation(2.0 / (1.0 + slope_ * slope_));
}

std::string LeakyReLU::describe() const {
  std::ostringstream out;
  out << "LeakyReLU(" << slope_ << ")";
  return out.str();
}

void LeakyReLU::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  require(y.shape(), x.shape(), "output");
  kernels::leaky_relu_forward(x.data(), y.data(), x.size(), static_cast<float>(slope_));
}

void LeakyReLU::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(dy.shape(), x.shape(), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::leaky_relu_backward(x.data(), dy.data(), dx->data(), x.size(),
                               static_cast<float>(slope_));
}

}  // namespace cnn
