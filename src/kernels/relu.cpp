#include "cnn/kernels.hpp"
#include "cnn/parallel.hpp"

namespace cnn::kernels {

namespace {
// Elementwise work is split between threads only in pieces large enough to repay the hand-off.
constexpr std::size_t kMinChunk = 1 << 15;
}  // namespace

void relu_forward(const float* x, float* y, std::size_t count) {
  parallel_for(
      count,
      [&](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      },
      kMinChunk);
}

void relu_backward(const float* x, const float* dy, float* dx, std::size_t count) {
  parallel_for(
      count,
      [&](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
      },
      kMinChunk);
}

}  // namespace cnn::kernels
