// Affine resampling of a batch of images, for data augmentation: one image per work item, so the
// result does not depend on the thread count.
#include <cmath>

#include "cnn/kernels.hpp"
#include "cnn/parallel.hpp"

namespace cnn::kernels {

void affine_warp(const float* x, float* y, const float* affine, std::size_t batch,
                 std::size_t channels, std::size_t height, std::size_t width) {
  const auto H = static_cast<std::ptrdiff_t>(height), W = static_cast<std::ptrdiff_t>(width);
  const std::size_t plane = height * width;
  parallel_for(batch, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t n = begin; n < end; ++n) {
      const float* t = affine + 6 * n;
      for (std::size_t c = 0; c < channels; ++c) {
        const float* in = x + (n * channels + c) * plane;
        float* out = y + (n * channels + c) * plane;
        for (std::ptrdiff_t i = 0; i < H; ++i) {
          for (std::ptrdiff_t j = 0; j < W; ++j) {
            const float u = t[0] * static_cast<float>(j) + t[1] * static_cast<float>(i) + t[2];
            const float v = t[3] * static_cast<float>(j) + t[4] * static_cast<float>(i) + t[5];
            const float fu = std::floor(u), fv = std::floor(v);
            const auto b0 = static_cast<std::ptrdiff_t>(fu), a0 = static_cast<std::ptrdiff_t>(fv);
            const float wu = u - fu, wv = v - fv;
            // Bilinear weights of the four neighbours; a neighbour outside the image reads 0.
            const auto at = [&](std::ptrdiff_t a, std::ptrdiff_t b) {
              return a >= 0 && a < H && b >= 0 && b < W ? in[a * W + b] : 0.0f;
            };
            out[i * W + j] = (1.0f - wv) * ((1.0f - wu) * at(a0, b0) + wu * at(a0, b0 + 1)) +
                             wv * ((1.0f - wu) * at(a0 + 1, b0) + wu * at(a0 + 1, b0 + 1));
          }
        }
      }
    }
  });
}

}  // namespace cnn::kernels
