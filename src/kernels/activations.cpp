// Elementwise activations beyond ReLU, and the dropout product.
#include <cmath>

#include "cnn/kernels.hpp"
#include "cnn/parallel.hpp"

namespace cnn::kernels {

namespace {
// As in relu.cpp: split between threads only in pieces large enough to repay the hand-off.
constexpr std::size_t kMinChunk = 1 << 15;
}  // namespace

void tanh_forward(const float* x, float* y, std::size_t count) {
  parallel_for(
      count,
      [x, y](std::size_t, std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) y[i] = std::tanh(x[i]);
      },
      kMinChunk);
}

void tanh_backward(const float* y, const float* dy, float* dx, std::size_t count) {
  parallel_for(
      count,
      [y, dy, dx](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      },
      kMinChunk);
}

void sigmoid_forward(const float* x, float* y, std::size_t count) {
  parallel_for(
      count,
      [x, y](std::size_t, std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      },
      kMinChunk);
}

void sigmoid_backward(const float* y, const float* dy, float* dx, std::size_t count) {
  parallel_for(
      count,
      [y, dy, dx](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      },
      kMinChunk);
}

void leaky_relu_forward(const float* x, float* y, std::size_t count, float slope) {
  parallel_for(
      count,
      [x, y, slope](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
      },
      kMinChunk);
}

void leaky_relu_backward(const float* x, const float* dy, float* dx, std::size_t count,
                         float slope) {
  parallel_for(
      count,
      [x, dy, dx, slope](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) {
          const float gradient = dy[i];
          dx[i] = x[i] > 0.0f ? gradient : slope * gradient;
        }
      },
      kMinChunk);
}

void multiply(const float* x, const float* mask, float* y, std::size_t count) {
  parallel_for(
      count,
      [x, mask, y](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) y[i] = x[i] * mask[i];
      },
      kMinChunk);
}

}  // namespace cnn::kernels
