// Max pooling over (possibly overlapping, possibly padded) windows, one channel plane at a time.
#include <algorithm>
#include <cstring>

#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

namespace {

// The common 2x2 window with stride 2 and no padding, without the general case's clipping: each
// output reads two pairs of neighbours. Same results as the general loop, ties included (the
// first maximum in scan order wins).
void max_pool_2x2(const float* x, float* y, std::int32_t* argmax, std::size_t planes,
                  const WindowGeometry& g) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), W = g.in_w;
  parallel_for(planes, [=](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      const float* in = x + plane * g.in_h * W;
      float* out = y + plane * oh * ow;
      std::int32_t* arg = argmax + plane * oh * ow;
      for (std::size_t i = 0; i < oh; ++i) {
        const float* top = in + 2 * i * W;
        const float* bottom = top + W;
        const auto first = static_cast<std::int32_t>(2 * i * W);
        const auto width = static_cast<std::int32_t>(W);
#pragma omp simd
        for (std::size_t j = 0; j < ow; ++j) {
          const float a = top[2 * j], b = top[2 * j + 1], c = bottom[2 * j], d = bottom[2 * j + 1];
          const auto at = first + 2 * static_cast<std::int32_t>(j);
          float best = a;
          std::int32_t index = at;
          best = b > best ? b : best;
          index = b > a ? at + 1 : index;
          const bool c_wins = c > best;
          best = c_wins ? c : best;
          index = c_wins ? at + width : index;
          const bool d_wins = d > best;
          best = d_wins ? d : best;
          index = d_wins ? at + width + 1 : index;
          out[i * ow + j] = best;
          arg[i * ow + j] = index;
        }
      }
    }
  });
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, std::int32_t* argmax, std::size_t batch,
                        const WindowGeometry& g) {
  if (g.kernel == Size2{2} && g.stride == Size2{2} && g.padding == Size2{0}) {
    max_pool_2x2(x, y, argmax, batch * g.channels, g);
    return;
  }
  const std::size_t oh = g.out_h(), ow = g.out_w();
  const std::ptrdiff_t H = static_cast<std::ptrdiff_t>(g.in_h);
  const std::ptrdiff_t W = static_cast<std::ptrdiff_t>(g.in_w);
  parallel_for(batch * g.channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      const float* in = x + plane * g.in_h * g.in_w;
      float* out = y + plane * oh * ow;
      std::int32_t* arg = argmax + plane * oh * ow;
      for (std::size_t i = 0; i < oh; ++i) {
        // The window's rows clipped to the image: padding rows never take part.
        const std::ptrdiff_t a0 =
            static_cast<std::ptrdiff_t>(i * g.stride.h) - static_cast<std::ptrdiff_t>(g.padding.h);
        const std::ptrdiff_t a_begin = std::max<std::ptrdiff_t>(a0, 0);
        const std::ptrdiff_t a_end =
            std::min<std::ptrdiff_t>(a0 + static_cast<std::ptrdiff_t>(g.kernel.h), H);
        for (std::size_t j = 0; j < ow; ++j) {
          const std::ptrdiff_t b0 = static_cast<std::ptrdiff_t>(j * g.stride.w) -
                                    static_cast<std::ptrdiff_t>(g.padding.w);
          const std::ptrdiff_t b_begin = std::max<std::ptrdiff_t>(b0, 0);
          const std::ptrdiff_t b_end =
              std::min<std::ptrdiff_t>(b0 + static_cast<std::ptrdiff_t>(g.kernel.w), W);
          // Padding is at most half the window, so the clipped window is never empty. '>' keeps
          // the first maximum in scan order (row by row).
          std::ptrdiff_t best_index = a_begin * W + b_begin;
          float best = in[best_index];
          for (std::ptrdiff_t a = a_begin; a < a_end; ++a) {
            for (std::ptrdiff_t b = b_begin; b < b_end; ++b) {
              const float v = in[a * W + b];
              const bool wins = v > best;
              best = wins ? v : best;
              best_index = wins ? a * W + b : best_index;
            }
          }
          out[i * ow + j] = best;
          arg[i * ow + j] = static_cast<std::int32_t>(best_index);
        }
      }
    }
  });
}

void max_pool2d_backward(const float* dy, const std::int32_t* argmax, float* dx, std::size_t batch,
                         const WindowGeometry& g) {
  const std::size_t out_plane = g.out_h() * g.out_w();
  const std::size_t in_plane = g.in_h * g.in_w;
  parallel_for(batch * g.channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      float* d = dx + plane * in_plane;
      std::memset(d, 0, in_plane * sizeof(float));
      const float* grad = dy + plane * out_plane;
      const std::int32_t* arg = argmax + plane * out_plane;
      // Overlapping windows may share a winner: its gradients add up.
      for (std::size_t k = 0; k < out_plane; ++k) d[arg[k]] += grad[k];
    }
  });
}

}  // namespace cnn::kernels
