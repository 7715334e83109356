// Elementwise activations beyond ReLU (relu.cpp), and the dropout product.
#include <cmath>

#include "elementwise.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

void tanh_forward(const float* x, float* y, std::size_t count) {
  for_each_element(count, [x, y](std::size_t i) { y[i] = std::tanh(x[i]); });
}

void tanh_backward(const float* y, const float* dy, float* dx, std::size_t count) {
  for_each_element(count, [y, dy, dx](std::size_t i) { dx[i] = dy[i] * (1.0f - y[i] * y[i]); });
}

void sigmoid_forward(const float* x, float* y, std::size_t count) {
  for_each_element(count, [x, y](std::size_t i) { y[i] = 1.0f / (1.0f + std::exp(-x[i])); });
}

void sigmoid_backward(const float* y, const float* dy, float* dx, std::size_t count) {
  for_each_element(count, [y, dy, dx](std::size_t i) { dx[i] = dy[i] * y[i] * (1.0f - y[i]); });
}

void leaky_relu_forward(const float* x, float* y, std::size_t count, float slope) {
  for_each_element(count,
                   [x, y, slope](std::size_t i) { y[i] = x[i] > 0.0f ? x[i] : slope * x[i]; });
}

void leaky_relu_backward(const float* x, const float* dy, float* dx, std::size_t count,
                         float slope) {
  for_each_element(count, [x, dy, dx, slope](std::size_t i) {
    const float gradient = dy[i];
    dx[i] = x[i] > 0.0f ? gradient : slope * gradient;
  });
}

void multiply(const float* x, const float* mask, float* y, std::size_t count) {
  for_each_element(count, [x, mask, y](std::size_t i) { y[i] = x[i] * mask[i]; });
}

}  // namespace cnn::kernels
