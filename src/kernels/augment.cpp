// Resampling and smoothing of a batch of images, for data augmentation: one image per work item,
// so the result does not depend on the thread count.
#include <algorithm>
#include <cmath>

#include "cnn/core/parallel.hpp"
#include "cnn/core/rng.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

void erase_rectangle(float* x, std::size_t channels, std::size_t height, std::size_t width,
                     std::size_t top, std::size_t left, std::size_t h, std::size_t w,
                     std::uint64_t fill_seed) {
  const std::size_t count = channels * height * width;
  const auto [lowest, highest] = std::minmax_element(x, x + count);
  const float lo = *lowest, span = *highest - *lowest;
  Rng fill(fill_seed);
  for (std::size_t c = 0; c < channels; ++c) {
    for (std::size_t i = top; i < top + h; ++i) {
      float* row = x + (c * height + i) * width;
      for (std::size_t j = left; j < left + w; ++j) {
        // 24 random bits: uniform on a grid of 2^-24 in [0, 1).
        row[j] = lo + span * (static_cast<float>(fill.next_u64() >> 40) * 0x1.0p-24f);
      }
    }
  }
}

void affine_warp(const float* x, float* y, const float* affine, const float* displacement,
                 std::size_t batch, std::size_t channels, std::size_t height, std::size_t width) {
  const auto H = static_cast<std::ptrdiff_t>(height), W = static_cast<std::ptrdiff_t>(width);
  const std::size_t plane = height * width;
  parallel_for(batch, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t n = begin; n < end; ++n) {
      const float* t = affine + 6 * n;
      const float* du = displacement != nullptr ? displacement + 2 * n * plane : nullptr;
      const float* dv = du != nullptr ? du + plane : nullptr;
      for (std::size_t c = 0; c < channels; ++c) {
        const float* in = x + (n * channels + c) * plane;
        float* out = y + (n * channels + c) * plane;
        for (std::ptrdiff_t i = 0; i < H; ++i) {
          for (std::ptrdiff_t j = 0; j < W; ++j) {
            float u = t[0] * static_cast<float>(j) + t[1] * static_cast<float>(i) + t[2];
            float v = t[3] * static_cast<float>(j) + t[4] * static_cast<float>(i) + t[5];
            if (du != nullptr) {
              u += du[i * W + j];
              v += dv[i * W + j];
            }
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

void smooth_planes(const float* x, float* y, float* scratch, const float* taps, std::size_t radius,
                   float gain, std::size_t planes, std::size_t height, std::size_t width) {
  const auto H = static_cast<std::ptrdiff_t>(height), W = static_cast<std::ptrdiff_t>(width);
  const auto R = static_cast<std::ptrdiff_t>(radius);
  const std::size_t plane = height * width;
  parallel_for(planes, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p) {
      const float* in = x + p * plane;
      float* rows = scratch + p * plane;
      float* out = y + p * plane;
      // Along each row: rows[i, j] = Σ_k taps[k] · in[i, j + k − r] over the columns inside,
      // one tap at a time so that the inner loop runs over contiguous columns.
      for (std::ptrdiff_t i = 0; i < H; ++i) {
        float* o = rows + i * W;
        const float* r = in + i * W;
        std::fill(o, o + W, 0.0f);
        for (std::ptrdiff_t k = 0; k <= 2 * R; ++k) {
          const std::ptrdiff_t shift = k - R;
          const std::ptrdiff_t j0 = std::max<std::ptrdiff_t>(0, -shift);
          const std::ptrdiff_t j1 = std::min<std::ptrdiff_t>(W, W - shift);
          for (std::ptrdiff_t j = j0; j < j1; ++j) o[j] += taps[k] * r[j + shift];
        }
      }
      // Along each column, a whole row at a time so the inner loop runs over contiguous columns:
      // out[i, j] = gain · Σ_k taps[k] · rows[i + k − r, j].
      for (std::ptrdiff_t i = 0; i < H; ++i) {
        float* o = out + i * W;
        std::fill(o, o + W, 0.0f);
        const std::ptrdiff_t k0 = std::max<std::ptrdiff_t>(0, R - i);
        const std::ptrdiff_t k1 = std::min<std::ptrdiff_t>(2 * R, H - 1 - i + R);
        for (std::ptrdiff_t k = k0; k <= k1; ++k) {
          const float tap = gain * taps[k];
          const float* r = rows + (i + k - R) * W;
          for (std::ptrdiff_t j = 0; j < W; ++j) o[j] += tap * r[j];
        }
      }
    }
  });
}

}  // namespace cnn::kernels
