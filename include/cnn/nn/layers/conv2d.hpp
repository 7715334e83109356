// Conv2D: 2-D convolution (cross-correlation, as in the design and in PyTorch).
//
//   z[n,d,i,j] = Σ_c Σ_m Σ_n W[d,c,m,n] · x[n, c, i·s_h+m−p_h, j·s_w+n−p_w] + b[d]
//
// with x zero outside the image. Input [N,C,H,W], output [N,D,OH,OW], OH = (H+2p_h−k_h)/s_h + 1.
// Weights [D,C,k_h,k_w] as in PyTorch (the design's W[m,n,c,d] holds the same numbers).
// Initialisation: normal, std = sqrt(gain / (C·k_h·k_w)), bias 0 (see Layer::initialize).
// Algorithm: direct by default; ConvAlgorithm::winograd (window.hpp) for 3x3 kernels with stride 1
// computes the output and all three gradients with fewer multiplications, to other last bits.
#pragma once

#include "cnn/core/window.hpp"
#include "cnn/nn/layer.hpp"

namespace cnn {

class Conv2D : public Layer {
 public:
  Conv2D(std::size_t in_channels, std::size_t out_channels, Size2 kernel, Size2 stride = 1,
         Size2 padding = 0);

  std::string kind() const override { return "conv2d"; }
  InitRole init_role() const override { return InitRole::other(); }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Parameter> parameters() override;
  void initialize(Rng& rng, double gain) override;

  std::size_t in_channels() const { return in_channels_; }
  std::size_t out_channels() const { return out_channels_; }
  Size2 kernel() const { return kernel_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }
  Tensor& weight() { return weight_; }
  WeightInit weight_init() const { return init_; }
  void set_weight_init(WeightInit init) { init_ = init; }
  Tensor& bias() { return bias_; }
  ConvAlgorithm algorithm() const { return algorithm_; }
  // std::invalid_argument if the algorithm cannot compute this kernel, stride and padding.
  void set_algorithm(ConvAlgorithm algorithm);

 private:
  WindowGeometry geometry(const Shape& input) const;

  std::size_t in_channels_, out_channels_;
  Size2 kernel_, stride_, padding_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  WeightInit init_ = WeightInit::automatic;
  ConvAlgorithm algorithm_ = ConvAlgorithm::direct;
  Tensor saved_;      // what the last forward kept for backward (see kernels::conv2d_saved_size)
  Tensor workspace_;  // scratch of forward and backward
};

}  // namespace cnn
