#include "cnn/nn/layers/avg_pool2d.hpp"
#include "kernels/kernels.hpp"

namespace cnn {

AvgPool2D::AvgPool2D(Size2 kernel, Size2 stride, Size2 padding)
    : window_("AvgPool2D", kernel, stride, padding) {}

void AvgPool2D::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  const WindowGeometry g = window_.geometry(x.shape());
  require(y.shape(), output_shape(x.shape()), "output");
  kernels::avg_pool2d_forward(x.data(), y.data(), x.dim(0), g);
}

void AvgPool2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  const WindowGeometry g = window_.geometry(x.shape());
  require(dy.shape(), y.shape(), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::avg_pool2d_backward(dy.data(), dx->data(), x.dim(0), g);
}

Shape GlobalAvgPool2D::output_shape(const Shape& input) const {
  if (input.rank() != 4) {
    throw ShapeError(describe() + ": expected input [N, C, H, W], got " + input.to_string());
  }
  return Shape{input[0], input[1], 1, 1};
}

void GlobalAvgPool2D::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  require(y.shape(), output_shape(x.shape()), "output");
  kernels::global_avg_pool_forward(x.data(), y.data(), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3));
}

void GlobalAvgPool2D::backward(const Tensor& x, const Tensor& /*y*/, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  require(dy.shape(), output_shape(x.shape()), "output gradient");
  require(dx->shape(), x.shape(), "input gradient");
  kernels::global_avg_pool_backward(dy.data(), dx->data(), x.dim(0) * x.dim(1),
                                    x.dim(2) * x.dim(3));
}

}  // namespace cnn
