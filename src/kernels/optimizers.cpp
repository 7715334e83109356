// Optimizer steps beyond the design's SGD. Each element's update is independent, so any split
// between threads gives the same bits.
#include <cmath>

#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

void sgd_step(float* weight, float* velocity, const float* grad, std::size_t count, float lr,
              float momentum, float weight_decay, bool nesterov) {
  parallel_for(
      count,
      [=](std::size_t, std::size_t begin, std::size_t end) {
        if (nesterov) {
#pragma omp simd
          for (std::size_t i = begin; i < end; ++i) {
            const float step = lr * (grad[i] + weight_decay * weight[i]);
            velocity[i] = momentum * velocity[i] + step;
            weight[i] -= momentum * velocity[i] + step;
          }
        } else {
#pragma omp simd
          for (std::size_t i = begin; i < end; ++i) {
            velocity[i] = momentum * velocity[i] + lr * (grad[i] + weight_decay * weight[i]);
            weight[i] -= velocity[i];
          }
        }
      },
      std::size_t{1} << 15);
}

void adam_step(float* weight, float* m, float* v, const float* grad, std::size_t count, float lr,
               float beta1, float beta2, float epsilon, float correction1, float correction2,
               float weight_decay, bool decoupled) {
  const float l2 = decoupled ? 0.0f : weight_decay;
  const float decoupled_decay = decoupled ? weight_decay : 0.0f;
  const float inv_c1 = 1.0f / correction1, inv_c2 = 1.0f / correction2;
  parallel_for(
      count,
      [=](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) {
          const float g = grad[i] + l2 * weight[i];
          m[i] = beta1 * m[i] + (1.0f - beta1) * g;
          v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
          const float update = (m[i] * inv_c1) / (std::sqrt(v[i] * inv_c2) + epsilon);
          weight[i] -= lr * (update + decoupled_decay * weight[i]);
        }
      },
      std::size_t{1} << 15);
}

}  // namespace cnn::kernels
