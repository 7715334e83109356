#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

void sgd_momentum_step(float* weight, float* velocity, const float* grad, std::size_t count,
                       float lr, float momentum) {
  // Each element's update is independent, so any split between threads gives the same bits.
  parallel_for(
      count,
      [weight, velocity, grad, lr, momentum](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) {
          velocity[i] = momentum * velocity[i] + lr * grad[i];
          weight[i] -= velocity[i];
        }
      },
      std::size_t{1} << 15);
}

}  // namespace cnn::kernels
