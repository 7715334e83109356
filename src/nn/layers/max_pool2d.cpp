#include "cnn/nn/layers/max_pool2d.hpp"
#include "kernels/kernels.hpp"

namespace cnn {

MaxPool2D::MaxPool2D(Size2 kernel, Size2 stride, Size2 padding)
    : window_("MaxPool2D", kernel, stride, padding) {}

WindowGeometry MaxPool2D::prepare_forward(const Tensor& x, const Tensor& y) {
  const WindowGeometry g = window_.geometry(x.shape());
  require(y.shape(), output_shape(x.shape()), "output");
  argmax_.resize(y.size());
  return g;
}

WindowGeometry MaxPool2D::check_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                                         const Tensor& dx) const {
  const WindowGeometry g = window_.geometry(x.shape());
  require(dy.shape(), y.shape(), "output gradient");
  require(dx.shape(), x.shape(), "input gradient");
  return g;
}

void MaxPool2D::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  const WindowGeometry g = prepare_forward(x, y);
  kernels::max_pool2d_forward(x.data(), y.data(), argmax_.data(), x.dim(0), g);
}

void MaxPool2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;  // no parameters: only the input gradient is ever wanted
  const WindowGeometry g = check_backward(x, y, dy, *dx);
  kernels::max_pool2d_backward(dy.data(), argmax_.data(), dx->data(), x.dim(0), g);
}

void MaxPool2D::forward_after_relu(const Tensor& x, Tensor& y, bool /*training*/) {
  const WindowGeometry g = prepare_forward(x, y);
  kernels::relu_max_pool2d_forward(x.data(), y.data(), argmax_.data(), x.dim(0), g);
}

void MaxPool2D::backward_after_relu(const Tensor& x, const Tensor& y, const Tensor& dy,
                                    Tensor* dx) {
  if (dx == nullptr) return;
  const WindowGeometry g = check_backward(x, y, dy, *dx);
  kernels::relu_max_pool2d_backward(dy.data(), y.data(), argmax_.data(), dx->data(), x.dim(0), g);
}

}  // namespace cnn
