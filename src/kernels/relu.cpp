#include "cnn/kernels.hpp"
#include "cnn/parallel.hpp"

namespace cnn::kernels {

namespace {
// Elementwise work is split between threads only in pieces large enough to repay the hand-off.
// (The lambdas capture the pointers by value: captured by reference, they would be reloaded from
// memory on every element, which stops vectorisation.)
constexpr std::size_t kMinChunk = 1 << 15;
}  // namespace

void relu_forward(const float* x, float* y, std::size_t count) {
  parallel_for(
      count,
      [x, y](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      },
      kMinChunk);
}

void relu_backward(const float* x, const float* dy, float* dx, std::size_t count) {
  parallel_for(
      count,
      [x, dy, dx](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) {
          const float gradient = dy[i];  // loaded unconditionally, so the select vectorises
          dx[i] = x[i] > 0.0f ? gradient : 0.0f;
        }
      },
      kMinChunk);
}

}  // namespace cnn::kernels
