// LeakyReLU (Maas et al. 2013): y = x where x > 0, else a·x; dL/dx = dL/dy where x > 0, else
// a·dL/dy. Any shape; a = 0.01 by default, as in PyTorch.
#pragma once

#include "cnn/nn/layer.hpp"

namespace cnn {

class LeakyReLU : public Layer {
 public:
  explicit LeakyReLU(double slope = 0.01);
  std::string kind() const override { return "leakyrelu"; }
  // 2/(1+a²): the negative side keeps a² of the variance the ReLU drops (He et al. 2015).
  InitRole init_role() const override;
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  double slope() const { return slope_; }

 private:
  double slope_;
};

}  // namespace cnn
