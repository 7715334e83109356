// BatchNorm (Ioffe and Szegedy 2015) over the channels of [N, C, H, W] (2-D, PyTorch's
// BatchNorm2d) or the features of [N, C] (1-D, BatchNorm1d). Per channel c, over the batch and
// the positions:
//
//   training:  μ, σ² = mean and (biased) variance of the batch;  x̂ = (x − μ)/sqrt(σ² + ε);
//              y = γ·x̂ + β;  running_mean, running_var move towards μ, σ²·M/(M−1) by momentum
//   inference: y = γ·(x − running_mean)/sqrt(running_var + ε) + β
//   backward:  dγ = Σ dy·x̂,  dβ = Σ dy,  dx = (γ/(M·sqrt(σ² + ε)))·(M·dy − dβ − x̂·dγ)
//
// γ ("weight") and β ("bias") are trained; the running statistics are buffers, saved in the
// model file as "running_mean" and "running_var" as in PyTorch's state_dict.
//
// In a data-parallel run (set_process_group with more than one process) the statistics are those
// of the global batch, as synchronised batch norm computes them: the per-channel sums of the
// forward pass (Σx, then Σ(x − μ)²) and of the backward pass (Σdy, Σdy·x̂) are summed over the
// processes, and M counts every process's values. dγ and dβ stay this process's own sums, which
// the training step then sums with every other gradient. The running statistics, updated from the
// global ones, agree on every process.
#pragma once

#include <vector>

#include "cnn/nn/layer.hpp"

namespace cnn {

class BatchNorm : public Layer {
 public:
  // dims: 2 for [N, C, H, W] inputs, 1 for [N, C].
  BatchNorm(std::size_t channels, std::size_t dims, double epsilon = 1e-5, double momentum = 0.1);

  std::string kind() const override { return dims_ == 2 ? "batchnorm2d" : "batchnorm1d"; }
  InitRole init_role() const override { return InitRole::looked_through(); }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor& x, Tensor& y, bool training) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Parameter> parameters() override;
  std::vector<Buffer> buffers() override;
  // γ = 1, β = 0, running mean 0 and variance 1 (the gain does not apply).
  void initialize(Rng& rng, double gain) override;
  void set_process_group(ProcessGroup* group) override { group_ = group; }

  std::size_t channels() const { return channels_; }
  std::size_t dims() const { return dims_; }
  double epsilon() const { return epsilon_; }
  double momentum() const { return momentum_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }

 private:
  std::size_t spatial(const Shape& input) const;
  void forward_synchronised(const Tensor& x, Tensor& y);
  void backward_synchronised(const Tensor& x, const Tensor& dy, Tensor* dx);

  std::size_t channels_, dims_;
  double epsilon_, momentum_;
  Tensor gamma_, beta_, gamma_grad_, beta_grad_;
  Tensor running_mean_, running_var_;
  Tensor batch_mean_, batch_inv_std_;  // of the last training forward, for backward
  ProcessGroup* group_ = nullptr;      // null or one process: this batch is the whole batch
  // Synchronised passes: per-channel sums with the value count appended ([C + 1]), and the sums
  // of squared deviations [C]; the backward sums [2C].
  std::vector<double> sums_, squares_, mean_, backward_sums_;
  std::size_t global_count_ = 0;  // M of the last synchronised forward
};

}  // namespace cnn
