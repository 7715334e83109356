#include "cnn/nn/layers/pooling_window.hpp"

#include <stdexcept>
#include <utility>

namespace cnn {

namespace {

std::string size2(Size2 s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w);
}

}  // namespace

PoolingWindow::PoolingWindow(std::string layer, Size2 kernel, Size2 stride, Size2 padding)
    : layer_(std::move(layer)),
      kernel_(kernel),
      stride_(stride.h == 0 && stride.w == 0 ? kernel : stride),
      padding_(padding) {
  if (kernel_.h == 0 || kernel_.w == 0 || stride_.h == 0 || stride_.w == 0) {
    throw std::invalid_argument(describe() + ": kernel size and stride must be positive");
  }
  // A window that lies wholly in the padding would have no maximum (and a mean of padding only).
  if (2 * padding_.h > kernel_.h || 2 * padding_.w > kernel_.w) {
    throw std::invalid_argument(describe() + ": padding must be at most half the kernel size");
  }
}

std::string PoolingWindow::describe() const {
  return layer_ + "(kernel=" + size2(kernel_) + ", stride=" + size2(stride_) +
         ", padding=" + size2(padding_) + ")";
}

WindowGeometry PoolingWindow::geometry(const Shape& input) const {
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

Shape PoolingWindow::output_shape(const Shape& input) const {
  const WindowGeometry g = geometry(input);
  return Shape{input[0], input[1], g.out_h(), g.out_w()};
}

}  // namespace cnn
