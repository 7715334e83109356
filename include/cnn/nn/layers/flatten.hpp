// Flatten: [N, C, H, W] -> [N, C·H·W]. The memory order is unchanged (NCHW), so forward and
// backward are copies; this matches torch.nn.Flatten, which keeps model files interchangeable.
#pragma once

#include "cnn/nn/layer.hpp"

namespace cnn {

class Flatten : public Layer {
 public:
  std::string kind() const override { return "flatten"; }
  InitRole init_role() const override { return InitRole::looked_through(); }
  std::string describe() const override { return "Flatten()"; }
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace cnn
