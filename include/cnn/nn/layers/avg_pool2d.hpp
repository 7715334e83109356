// AvgPool2D: the mean of each window, with any kernel, stride and padding.
//
//   forward:  z[n,c,i,j] = (1/(k_h·k_w)) Σ_{i·s−p ≤ a < i·s−p+k, j·s−p ≤ b < j·s−p+k} x[n,c,a,b]
//   backward: dx[n,c,a,b] = Σ_{windows (i,j) containing (a,b)} dz[n,c,i,j] / (k_h·k_w)
//
// Padding counts as zeros in the mean (PyTorch's default, count_include_pad=True).
#pragma once

#include "cnn/nn/layer.hpp"
#include "cnn/nn/layers/pooling_window.hpp"

namespace cnn {

class AvgPool2D : public Layer {
 public:
  explicit AvgPool2D(Size2 kernel, Size2 stride = 0, Size2 padding = 0);  // stride 0: = kernel

  std::string kind() const override { return "avgpool2d"; }
  InitRole init_role() const override { return InitRole::looked_through(); }
  std::string describe() const override { return window_.describe(); }
  Shape output_shape(const Shape& input) const override { return window_.output_shape(input); }
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

  Size2 kernel() const { return window_.kernel(); }
  Size2 stride() const { return window_.stride(); }
  Size2 padding() const { return window_.padding(); }

 private:
  PoolingWindow window_;
};

// GlobalAvgPool2D: the mean of each channel plane, [N, C, H, W] → [N, C, 1, 1] (PyTorch's
// AdaptiveAvgPool2d(1)).
//   forward:  z[n,c] = (1/(H·W)) Σ_(a,b) x[n,c,a,b]      backward: dx[n,c,a,b] = dz[n,c] / (H·W)
class GlobalAvgPool2D : public Layer {
 public:
  std::string kind() const override { return "globalavgpool2d"; }
  InitRole init_role() const override { return InitRole::looked_through(); }
  std::string describe() const override { return "GlobalAvgPool2D()"; }
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace cnn
