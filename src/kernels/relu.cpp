#include "cnn/kernels.hpp"

namespace cnn::kernels {

void relu_forward(const float* x, float* y, std::size_t count) {
#pragma omp simd
  for (std::size_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(const float* x, const float* dy, float* dx, std::size_t count) {
#pragma omp simd
  for (std::size_t i = 0; i < count; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace cnn::kernels
