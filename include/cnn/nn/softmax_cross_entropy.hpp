// SoftmaxCrossEntropy: the loss of the design.
//
//   a = exp(z − max z) / Σ_k exp(z_k − max z)        (max shift: no overflow)
//   L = −(1/N) Σ_n log a[n, y_n]                      (mean over the batch)
//   dL/dz = (a − onehot(y)) / N
//
// With label smoothing ε (Szegedy et al. 2016), the one-hot target becomes
// q = (1 − ε)·onehot(y) + ε/K over the K classes: L = −(1/N) Σ_n Σ_k q_k log a[n, k] and
// dL/dz = (a − q) / N. ε = 0 (the default) is the design's loss, bit for bit.
//
// The 1/N here is what makes every parameter gradient a batch average, as in the design. In a
// data-parallel run each process holds a share of the global batch and divides by the global
// batch's size instead (mean_over), so that the sum of the processes' losses and gradients is the
// global batch's mean.
#pragma once

#include <cstdint>
#include <span>

#include "cnn/core/tensor.hpp"

namespace cnn {

class SoftmaxCrossEntropy {
 public:
  // Throws std::invalid_argument unless smoothing is in [0, 1).
  explicit SoftmaxCrossEntropy(double smoothing = 0.0);
  double smoothing() const { return smoothing_; }

  // logits [N, K], labels N values in [0, K). Resizes dlogits to [N, K] and fills it; returns L.
  // mean_over: the N of the formulas (0: the batch's own N; the global batch's size in a
  // data-parallel run, where this N may be 0). Throws ShapeError when the label count differs from
  // N, std::out_of_range for a bad label.
  double forward(const Tensor& logits, std::span<const std::int32_t> labels, Tensor& dlogits,
                 std::size_t mean_over = 0) const;
  // Loss only.
  double loss(const Tensor& logits, std::span<const std::int32_t> labels) const;

 private:
  double smoothing_ = 0.0;
};

// Softmax probabilities of logits [N, K] into probs [N, K] (resized).
void softmax(const Tensor& logits, Tensor& probs);

}  // namespace cnn
