#include "cnn/nn/softmax_cross_entropy.hpp"

#include <stdexcept>
#include <string>

#include "cnn/core/instruction_set.hpp"
#include "kernels/kernels.hpp"

namespace cnn {

namespace {

void check(const Tensor& logits, std::span<const std::int32_t> labels) {
  require_cpu_support();  // the kernels below may be a program's first (model.hpp's contract)
  if (logits.shape().rank() != 2) {
    throw ShapeError("SoftmaxCrossEntropy: expected logits [N, classes], got " +
                     logits.shape().to_string());
  }
  if (labels.size() != logits.dim(0)) {
    throw ShapeError("SoftmaxCrossEntropy: " + std::to_string(labels.size()) +
                     " labels for logits " + logits.shape().to_string());
  }
  const auto classes = static_cast<std::int32_t>(logits.dim(1));
  for (std::size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] < 0 || labels[n] >= classes) {
      throw std::out_of_range("SoftmaxCrossEntropy: label " + std::to_string(labels[n]) +
                              " at index " + std::to_string(n) + " is not in [0, " +
                              std::to_string(classes) + ")");
    }
  }
}

}  // namespace

SoftmaxCrossEntropy::SoftmaxCrossEntropy(double smoothing) : smoothing_(smoothing) {
  if (!(smoothing >= 0.0 && smoothing < 1.0)) {
    throw std::invalid_argument("label smoothing must be in [0, 1), got " +
                                std::to_string(smoothing));
  }
}

double SoftmaxCrossEntropy::forward(const Tensor& logits, std::span<const std::int32_t> labels,
                                    Tensor& dlogits, std::size_t mean_over) const {
  check(logits, labels);
  dlogits.resize(logits.shape());
  return kernels::softmax_cross_entropy(logits.data(), labels.data(), dlogits.data(), logits.dim(0),
                                        logits.dim(1), mean_over == 0 ? logits.dim(0) : mean_over,
                                        smoothing_);
}

double SoftmaxCrossEntropy::loss(const Tensor& logits, std::span<const std::int32_t> labels) const {
  check(logits, labels);
  return kernels::softmax_cross_entropy(logits.data(), labels.data(), nullptr, logits.dim(0),
                                        logits.dim(1), logits.dim(0), smoothing_);
}

void softmax(const Tensor& logits, Tensor& probs) {
  require_cpu_support();  // on logits that may come from elsewhere, before any layer was built
  if (logits.shape().rank() != 2) {
    throw ShapeError("softmax: expected logits [N, classes], got " + logits.shape().to_string());
  }
  probs.resize(logits.shape());
  kernels::softmax(logits.data(), probs.data(), logits.dim(0), logits.dim(1));
}

}  // namespace cnn
