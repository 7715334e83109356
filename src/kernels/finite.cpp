#include <cstddef>

#include "kernels/kernels.hpp"

namespace cnn::kernels {

bool all_finite(const float* x, std::size_t count) {
  // x·0 is ±0 for every finite x and NaN for NaN and ±infinity, so one sum tells whether any
  // value is not finite. A plain sum vectorises, unlike a loop that stops at the first bad value,
  // and the training loop runs this over every gradient on every step.
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (std::size_t i = 0; i < count; ++i) sum += x[i] * 0.0f;
  return sum == 0.0f;
}

}  // namespace cnn::kernels
