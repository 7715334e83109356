#include "elementwise.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

void relu_forward(const float* x, float* y, std::size_t count) {
  for_each_element(count, [x, y](std::size_t i) { y[i] = x[i] > 0.0f ? x[i] : 0.0f; });
}

void relu_backward(const float* x, const float* dy, float* dx, std::size_t count) {
  for_each_element(count, [x, dy, dx](std::size_t i) {
    const float gradient = dy[i];  // loaded unconditionally, so the select vectorises
    dx[i] = x[i] > 0.0f ? gradient : 0.0f;
  });
}

}  // namespace cnn::kernels
