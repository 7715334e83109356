// Convolution as matrix products. For one image, with K = C·kh·kw and P = OH·OW:
//   forward   y[D,P]  = W[D,K] · columns[K,P] + b
//   backward  dW[D,K] = Σ_images dy[D,P] · columns[K,P]ᵀ
//             dcolumns[K,P] = W[D,K]ᵀ · dy[D,P],  dx = col2im(dcolumns)
// which are the design's sums written as matrix products: a column holds the input values one
// output position sees, so each formula's Σ_c Σ_m Σ_n becomes a sum over K. With stride 1 the
// columns are never built: the products read shifted rows of the image in place (see below).
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "cnn/core/parallel.hpp"
#include "kernels/conv2d_paths.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

namespace {

// Output columns j whose input column j·s + n − p lies inside [0, width): [first, last).
struct ValidRange {
  std::size_t first, last;
};
ValidRange valid_columns(std::size_t n, std::size_t stride, std::size_t pad, std::size_t width,
                         std::size_t out_w) {
  // j·s + n ≥ p  ⇔  j ≥ ceil((p − n) / s);  j·s + n − p < width  ⇔  j < ceil((width + p − n) / s)
  const std::size_t first = n >= pad ? 0 : (pad - n + stride - 1) / stride;
  const std::size_t last = width + pad <= n ? 0 : (width + pad - n + stride - 1) / stride;
  const std::size_t clamped_last = last < out_w ? last : out_w;
  return {first < clamped_last ? first : clamped_last, clamped_last};
}

}  // namespace

void im2col(const float* x, const WindowGeometry& g, float* columns) {
  const std::size_t oh = g.out_h(), ow = g.out_w();
  for (std::size_t c = 0; c < g.channels; ++c) {
    const float* plane = x + c * g.in_h * g.in_w;
    for (std::size_t m = 0; m < g.kernel.h; ++m) {
      for (std::size_t n = 0; n < g.kernel.w; ++n) {
        float* row = columns + ((c * g.kernel.h + m) * g.kernel.w + n) * oh * ow;
        // The columns j in [first, last) read inside the image; the others read zero padding.
        const ValidRange cols = valid_columns(n, g.stride.w, g.padding.w, g.in_w, ow);
        for (std::size_t i = 0; i < oh; ++i) {
          // Input row a = i·s + m − p.
          const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(i * g.stride.h + m) -
                                   static_cast<std::ptrdiff_t>(g.padding.h);
          float* out = row + i * ow;
          if (a < 0 || a >= static_cast<std::ptrdiff_t>(g.in_h)) {
            std::memset(out, 0, ow * sizeof(float));
            continue;
          }
          std::fill(out, out + cols.first, 0.0f);
          if (cols.first < cols.last) {
            // in[k] is input column (first + k)·s + n − p of row a, inside the image.
            const float* in = plane + static_cast<std::size_t>(a) * g.in_w +
                              cols.first * g.stride.w + n - g.padding.w;
            if (g.stride.w == 1) {
              // Rows are short (tens of floats): a loop beats a call to memcpy.
              for (std::size_t j = cols.first; j < cols.last; ++j) out[j] = in[j - cols.first];
            } else {
              for (std::size_t j = cols.first; j < cols.last; ++j) {
                out[j] = in[(j - cols.first) * g.stride.w];
              }
            }
          }
          std::fill(out + cols.last, out + ow, 0.0f);
        }
      }
    }
  }
}

void col2im(const float* columns, const WindowGeometry& g, float* dx) {
  const std::size_t oh = g.out_h(), ow = g.out_w();
  for (std::size_t c = 0; c < g.channels; ++c) {
    float* plane = dx + c * g.in_h * g.in_w;
    for (std::size_t m = 0; m < g.kernel.h; ++m) {
      for (std::size_t n = 0; n < g.kernel.w; ++n) {
        const float* row = columns + ((c * g.kernel.h + m) * g.kernel.w + n) * oh * ow;
        const ValidRange cols = valid_columns(n, g.stride.w, g.padding.w, g.in_w, ow);
        if (cols.first == cols.last) continue;  // this kernel column only ever sees padding
        for (std::size_t i = 0; i < oh; ++i) {
          const std::ptrdiff_t a = static_cast<std::ptrdiff_t>(i * g.stride.h + m) -
                                   static_cast<std::ptrdiff_t>(g.padding.h);
          if (a < 0 || a >= static_cast<std::ptrdiff_t>(g.in_h)) continue;  // padding: dropped
          float* out = plane + static_cast<std::size_t>(a) * g.in_w + cols.first * g.stride.w + n -
                       g.padding.w;
          const float* in = row + i * ow;
          for (std::size_t j = cols.first; j < cols.last; ++j) {
            out[(j - cols.first) * g.stride.w] += in[j];
          }
        }
      }
    }
  }
}

namespace conv2d_detail {

// dweight = Σ_t partial_t[0, weights), dbias = Σ_t partial_t[weights, weights + biases), where
// partial_t = first + t·stride holds thread t's sums; added in thread order, so a thread count
// always gives the same bits.
void add_partial_gradients(const float* first, std::size_t stride, std::size_t chunks,
                           std::size_t weights, std::size_t biases, float* dweight, float* dbias) {
  std::copy_n(first, weights, dweight);
  std::copy_n(first + weights, biases, dbias);
  for (std::size_t t = 1; t < chunks; ++t) {
    const float* partial = first + t * stride;
    for (std::size_t i = 0; i < weights; ++i) dweight[i] += partial[i];
    for (std::size_t d = 0; d < biases; ++d) dbias[d] += partial[weights + d];
  }
}

}  // namespace conv2d_detail

namespace {

using conv2d_detail::add_partial_gradients;
using conv2d_detail::patch_size;
using conv2d_detail::plane_size;

// ---- the im2col path (any stride) ------------------------------------------------------------

void im2col_forward(const float* x, const float* weight, const float* bias, float* y,
                    float* columns, std::size_t batch, std::size_t out_channels,
                    const WindowGeometry& g) {
  const std::size_t K = patch_size(g), P = plane_size(g);
  const std::size_t in_image = g.channels * g.in_h * g.in_w;
  parallel_for(batch, [&](std::size_t, std::size_t begin, std::size_t end) {
    for (std::size_t n = begin; n < end; ++n) {
      float* col = columns + n * K * P;
      float* out = y + n * out_channels * P;
      im2col(x + n * in_image, g, col);
      gemm_nn(out_channels, P, K, weight, K, col, P, out, P, false);
      for (std::size_t d = 0; d < out_channels; ++d) {
        const float b = bias[d];
        float* o = out + d * P;
        for (std::size_t p = 0; p < P; ++p) o[p] += b;
      }
    }
  });
}

std::size_t im2col_workspace_per_thread(std::size_t D, const WindowGeometry& g) {
  return patch_size(g) * plane_size(g) + D * (patch_size(g) + 1);
}

void im2col_backward(const float* dy, const float* columns, const float* weight, float* dweight,
                     float* dbias, float* dx, float* workspace, std::size_t batch, std::size_t D,
                     const WindowGeometry& g) {
  const std::size_t K = patch_size(g), P = plane_size(g);
  const std::size_t in_image = g.channels * g.in_h * g.in_w;
  const std::size_t per_thread = im2col_workspace_per_thread(D, g);
  const std::size_t chunks = parallel_chunks(batch);

  // Per-thread partial sums, added by add_partial_gradients.
  parallel_for(batch, [&](std::size_t thread, std::size_t begin, std::size_t end) {
    float* dcol = workspace + thread * per_thread;
    float* dw = dcol + K * P;
    float* db = dw + D * K;
    std::memset(db, 0, D * sizeof(float));
    for (std::size_t n = begin; n < end; ++n) {
      const float* dy_n = dy + n * D * P;
      gemm_nt(D, K, P, dy_n, P, columns + n * K * P, P, dw, K, n != begin);
      for (std::size_t d = 0; d < D; ++d) {
        const float* row = dy_n + d * P;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (std::size_t p = 0; p < P; ++p) sum += row[p];
        db[d] += sum;
      }
      if (dx != nullptr) {
        gemm_tn(K, P, D, weight, K, dy_n, P, dcol, P, false);
        float* dx_n = dx + n * in_image;
        std::memset(dx_n, 0, in_image * sizeof(float));
        col2im(dcol, g, dx_n);
      }
    }
  });

  add_partial_gradients(workspace + K * P, per_thread, chunks, D * K, D, dweight, dbias);
}

}  // namespace

using conv2d_detail::shifted_backward;
using conv2d_detail::shifted_forward;
using conv2d_detail::shifted_workspace_size;
using conv2d_detail::uses_shifted_rows;
using conv2d_detail::winograd_backward_data;
using conv2d_detail::winograd_backward_weights;
using conv2d_detail::winograd_forward;
using conv2d_detail::winograd_workspace_size;

namespace {

void require_winograd(const WindowGeometry& g) {
  if (!conv_algorithm_applies(ConvAlgorithm::winograd, g.kernel, g.stride, g.padding)) {
    throw std::invalid_argument(
        "the Winograd convolution needs a 3x3 kernel, stride 1 and padding of at most 2");
  }
}

}  // namespace

std::size_t conv2d_saved_size(std::size_t batch, const WindowGeometry& g) {
  return uses_shifted_rows(g) ? 0 : batch * patch_size(g) * plane_size(g);
}

std::size_t conv2d_workspace_size(std::size_t batch, std::size_t out_channels,
                                  const WindowGeometry& g, ConvAlgorithm algorithm) {
  if (algorithm == ConvAlgorithm::winograd) {
    require_winograd(g);
    return winograd_workspace_size(batch, out_channels, g);
  }
  return uses_shifted_rows(g)
             ? shifted_workspace_size(batch, out_channels, g)
             : parallel_chunks(batch) * im2col_workspace_per_thread(out_channels, g);
}

void conv2d_forward(const float* x, const float* weight, const float* bias, float* y, float* saved,
                    float* workspace, std::size_t batch, std::size_t out_channels,
                    const WindowGeometry& g, ConvAlgorithm algorithm) {
  if (algorithm == ConvAlgorithm::winograd) {
    require_winograd(g);
    winograd_forward(x, weight, bias, y, workspace, batch, out_channels, g);
    return;
  }
  if (uses_shifted_rows(g)) {
    shifted_forward(x, weight, bias, y, workspace, batch, out_channels, g);
  } else {
    im2col_forward(x, weight, bias, y, saved, batch, out_channels, g);
  }
}

void conv2d_backward(const float* x, const float* dy, const float* saved, const float* weight,
                     float* dweight, float* dbias, float* dx, float* workspace, std::size_t batch,
                     std::size_t out_channels, const WindowGeometry& g, ConvAlgorithm algorithm) {
  if (algorithm == ConvAlgorithm::winograd) require_winograd(g);
  // An empty batch (in data-parallel training, a process whose share of a small last batch has no
  // images) has zero gradients. Both paths would instead copy their first per-thread partial sum,
  // which no image wrote, from the workspace: what an earlier batch left there.
  if (batch == 0) {
    std::fill_n(dweight, out_channels * patch_size(g), 0.0f);
    std::fill_n(dbias, out_channels, 0.0f);
    return;
  }
  if (algorithm == ConvAlgorithm::winograd) {
    winograd_backward_weights(x, dy, dweight, dbias, workspace, batch, out_channels, g);
    if (dx != nullptr) winograd_backward_data(dy, weight, dx, workspace, batch, out_channels, g);
  } else if (uses_shifted_rows(g)) {
    shifted_backward(x, dy, weight, dweight, dbias, dx, workspace, batch, out_channels, g);
  } else {
    im2col_backward(dy, saved, weight, dweight, dbias, dx, workspace, batch, out_channels, g);
  }
}

}  // namespace cnn::kernels
