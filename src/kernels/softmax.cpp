#include <algorithm>
#include <cmath>

#include "kernels/kernels.hpp"

namespace cnn::kernels {

void softmax(const float* logits, float* probs, std::size_t batch, std::size_t classes) {
  for (std::size_t n = 0; n < batch; ++n) {
    const float* z = logits + n * classes;
    float* a = probs + n * classes;
    const float shift = *std::max_element(z, z + classes);
    // In double, as the loss (softmax_cross_entropy.cpp): the probabilities are shown to users.
    double sum = 0.0;
    for (std::size_t k = 0; k < classes; ++k) sum += std::exp(double{z[k]} - shift);
    for (std::size_t k = 0; k < classes; ++k) {
      a[k] = static_cast<float>(std::exp(double{z[k]} - shift) / sum);
    }
  }
}

}  // namespace cnn::kernels
