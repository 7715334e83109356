// MaxPool2D: the maximum of each window, with any kernel, stride and padding; windows may
// overlap (the design's 3x3 stride 2).
//
//   forward:  z[n,c,i,j] = max_{i·s−p ≤ a < i·s−p+k, j·s−p ≤ b < j·s−p+k} x[n,c,a,b]
//   backward: dx[n,c,a,b] = Σ_{(i,j) whose arg-max is (a,b)} dz[n,c,i,j]
//
// Padding positions never win (−∞, as in PyTorch); the design pads with zeros, which gives the
// same result on the non-negative ReLU outputs it pools.
#pragma once

#include <cstdint>
#include <vector>

#include "cnn/nn/layer.hpp"
#include "cnn/nn/layers/pooling_window.hpp"

namespace cnn {

class MaxPool2D : public Layer {
 public:
  explicit MaxPool2D(Size2 kernel, Size2 stride = 0, Size2 padding = 0);  // stride 0: = kernel

  std::string kind() const override { return "maxpool2d"; }
  InitRole init_role() const override { return InitRole::looked_through(); }
  std::string describe() const override { return window_.describe(); }
  Shape output_shape(const Shape& input) const override { return window_.output_shape(input); }
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  // A ReLU before the pool is fused into it (kernels::relu_max_pool2d_forward and _backward).
  bool fuses_preceding_relu() const override { return true; }
  void forward_after_relu(const Tensor& x, Tensor& y, bool training) override;
  void backward_after_relu(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

  Size2 kernel() const { return window_.kernel(); }
  Size2 stride() const { return window_.stride(); }
  Size2 padding() const { return window_.padding(); }

 private:
  // The windows' geometry for x, after checking y's shape and sizing argmax_ for y (forward).
  WindowGeometry prepare_forward(const Tensor& x, const Tensor& y);
  // The windows' geometry for x, after checking dy's and dx's shapes (backward).
  WindowGeometry check_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                                const Tensor& dx) const;

  PoolingWindow window_;
  std::vector<std::int32_t> argmax_;  // arg-max of each window of the last forward
};

}  // namespace cnn
