// Linear (fully connected): y = x·Wᵀ + b.
//
//   forward:  y[n,o] = Σ_i x[n,i] · W[o,i] + b[o]
//   backward: dW = dyᵀ·x, db = Σ_n dy, dx = dy·W
//
// W is [out, in] as in PyTorch: the transpose of the design's W in y = xW + b.
// Initialisation: normal, std = sqrt(gain / in), bias 0 (see Layer::initialize).
#pragma once

#include "cnn/nn/layer.hpp"

namespace cnn {

class Linear : public Layer {
 public:
  Linear(std::size_t in_features, std::size_t out_features);

  std::string kind() const override { return "linear"; }
  InitRole init_role() const override { return InitRole::other(); }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Parameter> parameters() override;
  void initialize(Rng& rng, double gain) override;

  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }
  Tensor& weight() { return weight_; }
  WeightInit weight_init() const { return init_; }
  void set_weight_init(WeightInit init) { init_ = init; }
  Tensor& bias() { return bias_; }

 private:
  std::size_t in_, out_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  WeightInit init_ = WeightInit::automatic;
};

}  // namespace cnn
