// The window of a pooling layer (MaxPool2D, AvgPool2D): kernel, stride and padding, checked once,
// and the window geometry they give on an input [N, C, H, W]:
//   out = floor((in + 2·padding − kernel) / stride) + 1 on each axis.
//
// A program using the library has no need of it; it is public only because the pooling layers
// hold one as a member, so their public headers need its definition. Making it internal would
// take either a pointer to an internal object in each layer (an allocation and an indirection
// for three sizes) or the same members, checks and messages written out in both layers.
#pragma once

#include <string>

#include "cnn/core/tensor.hpp"
#include "cnn/core/window.hpp"

namespace cnn {

class PoolingWindow {
 public:
  // `layer` names the layer in describe() and in messages ("MaxPool2D"); stride 0 means the
  // kernel size (windows side by side). Throws std::invalid_argument for a zero kernel, or a
  // padding over half the kernel (as in PyTorch: every window must overlap the image).
  PoolingWindow(std::string layer, Size2 kernel, Size2 stride, Size2 padding);

  // "MaxPool2D(kernel=3x3, stride=2x2, padding=0x0)"
  std::string describe() const;
  // Throws ShapeError when the input is not [N, C, H, W] or no window fits in it.
  WindowGeometry geometry(const Shape& input) const;
  // [N, C, out_h, out_w]
  Shape output_shape(const Shape& input) const;

  Size2 kernel() const { return kernel_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }

 private:
  std::string layer_;
  Size2 kernel_, stride_, padding_;
};

}  // namespace cnn
