#include <algorithm>
#include <cmath>

#include "kernels/kernels.hpp"

namespace cnn::kernels {

double softmax_cross_entropy(const float* logits, const std::int32_t* labels, float* dlogits,
                             std::size_t batch, std::size_t classes, std::size_t mean_over,
                             double smoothing) {
  double total = 0.0;
  // The target q_k = (1 − ε)·[k = y] + ε/K; with ε = 0 the sums below are the plain ones.
  const double other = smoothing / static_cast<double>(classes), own = 1.0 - smoothing + other;
  const float scale = 1.0f / static_cast<float>(mean_over);
  for (std::size_t n = 0; n < batch; ++n) {
    const float* z = logits + n * classes;
    const float shift = *std::max_element(z, z + classes);
    // Sums in double: the loss is reported to users and compared across runs.
    double denominator = 0.0;
    for (std::size_t k = 0; k < classes; ++k) denominator += std::exp(double{z[k]} - shift);
    const auto label = static_cast<std::size_t>(labels[n]);
    // −log a_y = log Σ exp(z − shift) − (z_y − shift); with smoothing, −Σ q_k log a_k =
    // log Σ exp(z − shift) − (1 − ε)(z_y − shift) − (ε/K) Σ_k (z_k − shift).
    if (smoothing == 0.0) {
      total += std::log(denominator) - (double{z[label]} - shift);
    } else {
      double mean_shifted = 0.0;
      for (std::size_t k = 0; k < classes; ++k) mean_shifted += double{z[k]} - shift;
      total += std::log(denominator) - (1.0 - smoothing) * (double{z[label]} - shift) -
               other * mean_shifted;
    }
    if (dlogits != nullptr) {
      float* d = dlogits + n * classes;
      for (std::size_t k = 0; k < classes; ++k) {
        const double a = std::exp(double{z[k]} - shift) / denominator;
        const double target =
            smoothing == 0.0 ? (k == label ? 1.0 : 0.0) : (k == label ? own : other);
        d[k] = static_cast<float>(a - target) * scale;
      }
    }
  }
  return total / static_cast<double>(mean_over);
}

}  // namespace cnn::kernels
