#include "cnn/kernels.hpp"

namespace cnn::kernels {

void sgd_momentum_step(float* weight, float* velocity, const float* grad, std::size_t count,
                       float lr, float momentum) {
#pragma omp simd
  for (std::size_t i = 0; i < count; ++i) {
    velocity[i] = momentum * velocity[i] + lr * grad[i];
    weight[i] -= velocity[i];
  }
}

}  // namespace cnn::kernels
