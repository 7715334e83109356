// Window arithmetic shared by convolution and pooling: sizes per axis and the geometry of the
// windows over an input plane. Public because layer constructors take Size2 arguments; the
// kernels (src/kernels/kernels.hpp) take WindowGeometry.
#pragma once

#include <cstddef>

namespace cnn {

// A height and a width: kernel sizes, strides and paddings may differ per axis.
struct Size2 {
  std::size_t h = 0;
  std::size_t w = 0;
  Size2() = default;
  Size2(std::size_t both) : h(both), w(both) {}  // NOLINT: 5 means 5x5, as in PyTorch
  Size2(std::size_t height, std::size_t width) : h(height), w(width) {}
  friend bool operator==(const Size2&, const Size2&) = default;
};

// Window geometry shared by convolution and pooling:
//   out = floor((in + 2 * padding - kernel) / stride) + 1 on each axis.
struct WindowGeometry {
  std::size_t channels = 0;  // input channels
  std::size_t in_h = 0, in_w = 0;
  Size2 kernel, stride{1}, padding{0};

  std::size_t out_h() const { return (in_h + 2 * padding.h - kernel.h) / stride.h + 1; }
  std::size_t out_w() const { return (in_w + 2 * padding.w - kernel.w) / stride.w + 1; }
  // True when at least one window fits in the padded input.
  bool fits() const {
    return kernel.h > 0 && kernel.w > 0 && stride.h > 0 && stride.w > 0 &&
           in_h + 2 * padding.h >= kernel.h && in_w + 2 * padding.w >= kernel.w;
  }
};

// How a convolution computes its output and gradients. direct: the sums as written, the
// default. winograd: Winograd's F(2x2, 3x3), for 3x3 kernels with stride 1 and padding at most 2
// only: fewer multiplications, the same sums reached through other roundings (not bit-equal to
// direct; src/kernels/conv2d_winograd.cpp states the tolerance).
enum class ConvAlgorithm { direct, winograd };

// Whether `algorithm` can compute a convolution of this kernel, stride and padding.
inline bool conv_algorithm_applies(ConvAlgorithm algorithm, Size2 kernel, Size2 stride,
                                   Size2 padding) {
  return algorithm == ConvAlgorithm::direct ||
         (kernel == Size2(3) && stride == Size2(1) && padding.h <= 2 && padding.w <= 2);
}

}  // namespace cnn
