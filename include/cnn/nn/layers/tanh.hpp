// Tanh: y = tanh(x); dL/dx = dL/dy · (1 − y²). Any shape.
#pragma once

#include "cnn/nn/layer.hpp"

namespace cnn {

class Tanh : public Layer {
 public:
  std::string kind() const override { return "tanh"; }
  InitRole init_role() const override { return InitRole::other(); }
  std::string describe() const override { return "Tanh()"; }
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace cnn
