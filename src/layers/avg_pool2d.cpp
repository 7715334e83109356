#include "cnn/avg_pool2d.hpp"

#include <string>

namespace cnn {

namespace {

std::string size2(Size2 s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w);
}

}  // namespace

AvgPool2D::AvgPool2D(Size2 kernel, Size2 stride, Size2 padding)
    : kernel_(kernel),
      stride_(stride.h == 0 && stride.w == 0 ? kernel : stride),
      padding_(padding) {
  if (kernel_.h == 0 || kernel_.w == 0 || stride_.h == 0 || stride_.w == 0) {
    throw std::invalid_argument(describe() + ": kernel size and stride must be positive");
  }
  if (2 * padding_.h > kernel_.h || 2 * padding_.w > kernel_.w) {
    throw std::invalid_argument(describe() + ": padding must be at most half the kernel size");
  }
}

std::string AvgPool2D::describe() const {
  return "AvgPool2D(kernel=" + size2(kernel_) + ", stride=" + size2(stride_) +
         ", padding=" + size2(padding_) + ")";
}

WindowGeometry AvgPool2D::geometry(const Shape& input) const {
  if (input.rank() != 4) {
    throw ShapeError(describe() + ": expected input [N, C, H, W], got " + input.to_string());
  }
  WindowGeometry g{input[1], input[2], input[3], kernel_, stride_, padding_};
  if (!g.fits()) {
    throw ShapeError(describe() + ": input " + input.to_string() +
                     " is smaller than the window even with padding");
  }
  return g;
}

Shape AvgPool2D::output_shape(const Shape& input) const {
  const WindowGeometry g = geometry(input);
  return Shape{input[0], input[1], g.out_h(), g.out_w()};
}

void AvgPool2D::forward(const Tensor& x, Tensor& y, bool /*training*/) {
  const WindowGeometry g = geometry(x.shape());
  require(y.shape(), output_shape(x.shape()), "output");
  kernels::avg_pool2d_forward(x.data(), y.data(), x.dim(0), g);
}

void AvgPool2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  const WindowGeometry g = geometry(x.shape());
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
