// Sigmoid: y = 1 / (1 + exp(−x)); dL/dx = dL/dy · y · (1 − y). Any shape.
#pragma once

#include "cnn/nn/layer.hpp"

namespace cnn {

class Sigmoid : public Layer {
 public:
  std::string kind() const override { return "sigmoid"; }
  InitRole init_role() const override { return InitRole::other(); }
  std::string describe() const override { return "Sigmoid()"; }
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace cnn
