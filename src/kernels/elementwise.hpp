// The loop of the elementwise kernels (activations, dropout): body(i) for every i in
// [0, count), vectorised, and split between threads only in pieces large enough to repay the
// hand-off. Bodies capture their pointers by value: captured by reference, they would be reloaded
// from memory on every element, which stops vectorisation.
#pragma once

#include <cstddef>

#include "cnn/core/parallel.hpp"

namespace cnn::kernels {

inline constexpr std::size_t kElementwiseMinChunk = std::size_t{1} << 15;

template <class Body>
void for_each_element(std::size_t count, Body body) {
  parallel_for(
      count,
      [body](std::size_t, std::size_t begin, std::size_t end) {
#pragma omp simd
        for (std::size_t i = begin; i < end; ++i) body(i);
      },
      kElementwiseMinChunk);
}

}  // namespace cnn::kernels
