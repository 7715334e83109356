// ReLU: y = max(0, x); dL/dx = dL/dy where x > 0, else 0. Any shape.
#pragma once

#include "cnn/nn/layer.hpp"

namespace cnn {

class ReLU : public Layer {
 public:
  std::string kind() const override { return "relu"; }
  InitRole init_role() const override { return InitRole::activation(2.0); }
  std::string describe() const override { return "ReLU()"; }
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace cnn
