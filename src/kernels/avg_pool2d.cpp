// Average pooling over (possibly overlapping, possibly padded) windows, one channel plane at a
// time, and global average pooling.
#include <algorithm>
#include <cstring>

#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

namespace {

// The rows (or columns) of window i clipped to the image: [begin, end).
struct Span {
  std::ptrdiff_t begin, end;
};
Span window_span(std::size_t i, std::size_t stride, std::size_t padding, std::size_t kernel,
                 std::size_t size) {
  const std::ptrdiff_t first =
      static_cast<std::ptrdiff_t>(i * stride) - static_cast<std::ptrdiff_t>(padding);
  return {std::max<std::ptrdiff_t>(first, 0),
          std::min<std::ptrdiff_t>(first + static_cast<std::ptrdiff_t>(kernel),
                                   static_cast<std::ptrdiff_t>(size))};
}

}  // namespace

void avg_pool2d_forward(const float* x, float* y, std::size_t batch, const WindowGeometry& g) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), W = g.in_w;
  const float scale = 1.0f / static_cast<float>(g.kernel.h * g.kernel.w);
  parallel_for(batch * g.channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      const float* in = x + plane * g.in_h * g.in_w;
      float* out = y + plane * oh * ow;
      for (std::size_t i = 0; i < oh; ++i) {
        const Span rows = window_span(i, g.stride.h, g.padding.h, g.kernel.h, g.in_h);
        for (std::size_t j = 0; j < ow; ++j) {
          const Span cols = window_span(j, g.stride.w, g.padding.w, g.kernel.w, g.in_w);
          float sum = 0.0f;
          for (std::ptrdiff_t a = rows.begin; a < rows.end; ++a) {
            for (std::ptrdiff_t b = cols.begin; b < cols.end; ++b) sum += in[a * W + b];
          }
          out[i * ow + j] = sum * scale;
        }
      }
    }
  });
}

void avg_pool2d_backward(const float* dy, float* dx, std::size_t batch, const WindowGeometry& g) {
  const std::size_t oh = g.out_h(), ow = g.out_w(), W = g.in_w;
  const float scale = 1.0f / static_cast<float>(g.kernel.h * g.kernel.w);
  parallel_for(batch * g.channels, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t plane = begin; plane < end; ++plane) {
      float* in = dx + plane * g.in_h * g.in_w;
      const float* out = dy + plane * oh * ow;
      std::memset(in, 0, g.in_h * g.in_w * sizeof(float));
      for (std::size_t i = 0; i < oh; ++i) {
        const Span rows = window_span(i, g.stride.h, g.padding.h, g.kernel.h, g.in_h);
        for (std::size_t j = 0; j < ow; ++j) {
          const Span cols = window_span(j, g.stride.w, g.padding.w, g.kernel.w, g.in_w);
          const float share = out[i * ow + j] * scale;
          for (std::ptrdiff_t a = rows.begin; a < rows.end; ++a) {
            for (std::ptrdiff_t b = cols.begin; b < cols.end; ++b) in[a * W + b] += share;
          }
        }
      }
    }
  });
}

void global_avg_pool_forward(const float* x, float* y, std::size_t planes, std::size_t plane_size) {
  const float scale = 1.0f / static_cast<float>(plane_size);
  parallel_for(planes, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p) {
      const float* in = x + p * plane_size;
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (std::size_t k = 0; k < plane_size; ++k) sum += in[k];
      y[p] = sum * scale;
    }
  });
}

void global_avg_pool_backward(const float* dy, float* dx, std::size_t planes,
                              std::size_t plane_size) {
  const float scale = 1.0f / static_cast<float>(plane_size);
  parallel_for(planes, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p) {
      std::fill(dx + p * plane_size, dx + (p + 1) * plane_size, dy[p] * scale);
    }
  });
}

}  // namespace cnn::kernels
