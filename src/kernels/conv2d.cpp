// Convolution as matrix products. For one image, with K = C·kh·kw and P = OH·OW:
//   forward   y[D,P]  = W[D,K] · columns[K,P] + b
//   backward  dW[D,K] = Σ_images dy[D,P] · columns[K,P]ᵀ
//             dcolumns[K,P] = W[D,K]ᵀ · dy[D,P],  dx = col2im(dcolumns)
// which are the design's sums written as matrix products: a column holds the input values one
// output position sees, so each formula's Σ_c Σ_m Σ_n becomes a sum over K. With stride 1 the
// columns are never built: the products read shifted rows of the image in place (see below).
#include <algorithm>
#include <cstring>

#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"
#include "tiles.hpp"

namespace cnn::kernels {

namespace {

std::size_t patch_size(const WindowGeometry& g) {
  return g.channels * g.kernel.h * g.kernel.w;
}
std::size_t plane_size(const WindowGeometry& g) {
  return g.out_h() * g.out_w();
}

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

namespace {

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

// ---- the shifted-rows path (stride 1) ------------------------------------------------------
// With stride 1, row (c,m,n) of an image's im2col matrix is the padded image itself shifted by
// off(c,m,n) = c·Hp·Wp + m·Wp + n, if output rows are laid out Wp wide: output (i, j) sits at
// i·Wp + j and reads padded input off + i·Wp + j. So the products read the image in place through
// a table of K row offsets, with no K·P copy. The Wp − OW extra columns of each "wide" output row
// are computed and dropped (forward) or fed zeros (weight gradient).
constexpr std::size_t kMaxShiftedK = 4096;  // offsets live on the stack
constexpr std::size_t kImagesPerDot = 4;    // images per pass of the weight-gradient tiles

bool uses_shifted_rows(const WindowGeometry& g) {
  return g.stride.h == 1 && g.stride.w == 1 && patch_size(g) <= kMaxShiftedK;
}

struct Shifted {
  std::size_t hp, wp;  // padded input height and width
  std::size_t wide;    // length of a wide output plane: (OH − 1)·Wp + OW
  std::size_t padded;  // C·Hp·Wp
  explicit Shifted(const WindowGeometry& g)
      : hp(g.in_h + 2 * g.padding.h),
        wp(g.in_w + 2 * g.padding.w),
        wide((g.out_h() - 1) * wp + g.out_w()),
        padded(g.channels * hp * wp) {}
};

void shifted_offsets(const WindowGeometry& g, const Shifted& sh, std::uint32_t* offsets) {
  std::size_t k = 0;
  for (std::size_t c = 0; c < g.channels; ++c)
    for (std::size_t m = 0; m < g.kernel.h; ++m)
      for (std::size_t n = 0; n < g.kernel.w; ++n)
        offsets[k++] = static_cast<std::uint32_t>((c * sh.hp + m) * sh.wp + n);
}

// The image x[C,H,W] with its zero padding, or x itself when there is none.
const float* padded_image(const float* x, const WindowGeometry& g, const Shifted& sh,
                          float* buffer) {
  if (g.padding.h == 0 && g.padding.w == 0) return x;
  std::fill(buffer, buffer + sh.padded, 0.0f);
  for (std::size_t c = 0; c < g.channels; ++c)
    for (std::size_t a = 0; a < g.in_h; ++a)
      std::copy_n(x + (c * g.in_h + a) * g.in_w, g.in_w,
                  buffer + (c * sh.hp + a + g.padding.h) * sh.wp + g.padding.w);
  return buffer;
}

// A stride-1 convolution of one image: y[D,OH,OW] = W[D,K] · (shifted rows of padded x) + b
// (no bias when bias is null). Needs shifted_image_workspace(D, g) floats.
std::size_t shifted_image_workspace(std::size_t D, const WindowGeometry& g) {
  const Shifted sh(g);
  return sh.padded + D * sh.wide;
}
void shifted_image(const float* x, const float* weight, const float* bias, float* y,
                   float* workspace, std::size_t D, const WindowGeometry& g, const Shifted& sh,
                   const std::uint32_t* offsets) {
  const std::size_t K = patch_size(g), oh = g.out_h(), ow = g.out_w();
  float* wide = workspace + sh.padded;
  const float* xp = padded_image(x, g, sh, workspace);
  // wide[D, (OH−1)·Wp + OW] = W[D,K] · (rows of xp at the K offsets)
  tiles::axpy_product<false>(
      D, sh.wide, K, weight, K, [&](std::size_t k) { return xp + offsets[k]; },
      [&](std::size_t d) { return wide + d * sh.wide; }, false);
  for (std::size_t d = 0; d < D; ++d) {
    const float b = bias != nullptr ? bias[d] : 0.0f;
    for (std::size_t i = 0; i < oh; ++i) {
      const float* row = wide + d * sh.wide + i * sh.wp;
      float* out = y + (d * oh + i) * ow;
      for (std::size_t j = 0; j < ow; ++j) out[j] = row[j] + b;
    }
  }
}

// Per thread, for up to `images` images: each image's padded input and Wp-wide dy (kept so that
// dW is one set of dot products over all of them), partial dW and db, a padded dx and one
// transposed wide dy.
std::size_t shifted_backward_per_thread(std::size_t images, std::size_t D,
                                        const WindowGeometry& g) {
  const Shifted sh(g);
  return images * (sh.padded + D * sh.wide) + D * (patch_size(g) + 1) + sh.padded + sh.wide * D;
}

// Most images one thread handles in parallel_for(batch).
std::size_t images_per_thread(std::size_t batch) {
  const std::size_t chunks = parallel_chunks(batch);
  return (batch + chunks - 1) / chunks;
}

std::size_t shifted_workspace_size(std::size_t batch, std::size_t D, const WindowGeometry& g) {
  const std::size_t chunks = parallel_chunks(batch);
  const std::size_t forward = chunks * shifted_image_workspace(D, g);
  // The reordered weights (see shifted_backward) are shared by all threads and come first.
  const std::size_t backward =
      D * patch_size(g) + chunks * shifted_backward_per_thread(images_per_thread(batch), D, g);
  return std::max(forward, backward);
}

void shifted_forward(const float* x, const float* weight, const float* bias, float* y,
                     float* workspace, std::size_t batch, std::size_t D, const WindowGeometry& g) {
  const Shifted sh(g);
  std::uint32_t offsets[kMaxShiftedK];
  shifted_offsets(g, sh, offsets);
  const std::size_t per_thread = shifted_image_workspace(D, g);
  const std::size_t in_image = g.channels * g.in_h * g.in_w, out_image = D * plane_size(g);
  parallel_for(batch, [&](std::size_t thread, std::size_t begin, std::size_t end) {
    for (std::size_t n = begin; n < end; ++n) {
      shifted_image(x + n * in_image, weight, bias, y + n * out_image,
                    workspace + thread * per_thread, D, g, sh, offsets);
    }
  });
}

void shifted_backward(const float* x, const float* dy, const float* weight, float* dweight,
                      float* dbias, float* dx, float* workspace, std::size_t batch, std::size_t D,
                      const WindowGeometry& g) {
  const Shifted sh(g);
  const std::size_t K = patch_size(g), oh = g.out_h(), ow = g.out_w(), P = oh * ow;
  const std::size_t C = g.channels, kh = g.kernel.h, kw = g.kernel.w;
  const std::size_t in_image = C * g.in_h * g.in_w;
  const bool padded = g.padding.h != 0 || g.padding.w != 0;
  std::uint32_t offsets[kMaxShiftedK];
  shifted_offsets(g, sh, offsets);

  // dx: the columns of W (and their row offsets) reordered from (c, m, n) to (m, n, c), so that
  // consecutive rows of a register tile land in different channel planes of dx (see below).
  float* reordered = workspace;
  std::uint32_t reordered_offsets[kMaxShiftedK];
  if (dx != nullptr) {
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t m = 0; m < kh; ++m)
        for (std::size_t n = 0; n < kw; ++n) {
          const std::size_t from = (c * kh + m) * kw + n, to = (m * kw + n) * C + c;
          reordered_offsets[to] = offsets[from];
          for (std::size_t d = 0; d < D; ++d) reordered[d * K + to] = weight[d * K + from];
        }
  }

  // The weight gradient's products take their long sums (over positions) inside the register
  // tiles either way: as dot products for any D, or as the forward pass's broadcast-and-add
  // tiles when D is a whole number of vectors, which needs half the loads per multiply-add.
  const bool transposed_dw = D % tiles::kLanes == 0;
  const std::size_t images = images_per_thread(batch);
  const std::size_t per_thread = shifted_backward_per_thread(images, D, g);
  const std::size_t chunks = parallel_chunks(batch);
  float* threads = workspace + D * K;
  const auto partial_dw = [&](std::size_t t) {
    return threads + t * per_thread + images * (sh.padded + D * sh.wide);
  };

  // Per-thread partial sums, added by add_partial_gradients.
  parallel_for(batch, [&](std::size_t thread, std::size_t begin, std::size_t end) {
    float* wide_dys = threads + thread * per_thread;  // [images, D, wide]
    float* pads = wide_dys + images * D * sh.wide;    // [images, C·Hp·Wp]
    float* dw = partial_dw(thread);
    float* db = dw + D * K;
    float* dx_workspace = db + D;
    std::fill(db, db + D, 0.0f);
    const auto xp = [&](std::size_t image) {  // padded input of the thread's image-th image
      return padded ? pads + image * sh.padded : x + (begin + image) * in_image;
    };
    const auto wide_dy = [&](std::size_t image) { return wide_dys + image * D * sh.wide; };
    for (std::size_t n = begin; n < end; ++n) {
      if (padded) padded_image(x + n * in_image, g, sh, pads + (n - begin) * sh.padded);
      // dy laid out Wp wide, zero in the extra columns so they add nothing.
      const float* dy_n = dy + n * D * P;
      float* wdy = wide_dy(n - begin);
      for (std::size_t d = 0; d < D; ++d) {
        float sum = 0.0f;
        for (std::size_t i = 0; i < oh; ++i) {
          const float* in = dy_n + (d * oh + i) * ow;
          float* out = wdy + d * sh.wide + i * sh.wp;
          // A reduction, so that the sum is taken in vector lanes: one serial chain of additions
          // would cost more than the copy it rides on.
#pragma omp simd reduction(+ : sum)
          for (std::size_t j = 0; j < ow; ++j) {
            out[j] = in[j];
            sum += in[j];
          }
          if (i + 1 < oh) std::fill(out + ow, out + sh.wp, 0.0f);
        }
        db[d] += sum;
      }
    }
    if (transposed_dw) {
      // dWᵀ[K,D] = Σ_images Σ_q x_shifted[K, q] · dyᵀ[q, D]: with D a whole number of vectors,
      // the same register tiles as the forward pass, broadcasting input values from the K
      // shifted rows and loading dy transposed, D values per position q.
      float* dyt = dx_workspace + sh.padded;
      for (std::size_t image = 0; image < end - begin; ++image) {
        const float* wdy = wide_dy(image);
        for (std::size_t q = 0; q < sh.wide; ++q)
          for (std::size_t d = 0; d < D; ++d) dyt[q * D + d] = wdy[d * sh.wide + q];
        const float* in = xp(image);
        tiles::axpy_product(
            K, D, sh.wide, [&](std::size_t k, std::size_t q) { return in[offsets[k] + q]; },
            [&](std::size_t q) { return dyt + q * D; }, [&](std::size_t k) { return dw + k * D; },
            image > 0);
      }
    }
    // dW[D,K] = Σ_images wide_dy[D, wide] · (rows of the padded image at the K offsets)ᵀ, a few
    // images at a time: their inputs and gradients stay in cache while every tile passes over
    // them, and each tile's sums are still reduced only once per group.
    for (std::size_t first = 0; !transposed_dw && first < end - begin; first += kImagesPerDot) {
      const std::size_t count = std::min(kImagesPerDot, end - begin - first);
      tiles::dot_product(
          count, D, K, sh.wide,
          [&](std::size_t image, std::size_t d) { return wide_dy(first + image) + d * sh.wide; },
          [&](std::size_t image, std::size_t k) { return xp(first + image) + offsets[k]; },
          [&](std::size_t d) { return dw + d * K; }, first > 0);
    }
    if (dx == nullptr) return;
    for (std::size_t n = begin; n < end; ++n) {
      // dx_padded[rows at the K offsets] += Wᵀ[K,D] · wide_dy[D, wide]: col2im done in place, the
      // rows of the product overlapping in dx. A tile adds into its rows by loading, adding and
      // storing them; were two of its rows in the same plane a few floats apart, the load of one
      // would partly overlap the store of the other, which the CPU cannot forward and waits out.
      // With the (m, n, c) order, a tile's rows are in different planes when C >= kRows.
      const float* wdy = wide_dy(n - begin);
      float* dx_n = dx + n * in_image;
      float* target = padded ? dx_workspace : dx_n;
      std::fill(target, target + (padded ? sh.padded : in_image), 0.0f);
      tiles::axpy_product<true>(
          K, sh.wide, D, reordered, K, [&](std::size_t d) { return wdy + d * sh.wide; },
          [&](std::size_t k) { return target + reordered_offsets[k]; }, true);
      if (padded) {
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t a = 0; a < g.in_h; ++a)
            std::copy_n(target + (c * sh.hp + a + g.padding.h) * sh.wp + g.padding.w, g.in_w,
                        dx_n + (c * g.in_h + a) * g.in_w);
      }
    }
  });
  if (!transposed_dw) {
    add_partial_gradients(partial_dw(0), per_thread, chunks, D * K, D, dweight, dbias);
    return;
  }
  // The partial dWᵀ[K,D] of each thread, transposed and added in thread order.
  for (std::size_t d = 0; d < D; ++d) {
    for (std::size_t k = 0; k < K; ++k) {
      float sum = partial_dw(0)[k * D + d];
      for (std::size_t t = 1; t < chunks; ++t) sum += partial_dw(t)[k * D + d];
      dweight[d * K + k] = sum;
    }
    float sum = partial_dw(0)[D * K + d];
    for (std::size_t t = 1; t < chunks; ++t) sum += partial_dw(t)[D * K + d];
    dbias[d] = sum;
  }
}

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

std::size_t conv2d_saved_size(std::size_t batch, const WindowGeometry& g) {
  return uses_shifted_rows(g) ? 0 : batch * patch_size(g) * plane_size(g);
}

std::size_t conv2d_workspace_size(std::size_t batch, std::size_t out_channels,
                                  const WindowGeometry& g) {
  return uses_shifted_rows(g)
             ? shifted_workspace_size(batch, out_channels, g)
             : parallel_chunks(batch) * im2col_workspace_per_thread(out_channels, g);
}

void conv2d_forward(const float* x, const float* weight, const float* bias, float* y, float* saved,
                    float* workspace, std::size_t batch, std::size_t out_channels,
                    const WindowGeometry& g) {
  if (uses_shifted_rows(g)) {
    shifted_forward(x, weight, bias, y, workspace, batch, out_channels, g);
  } else {
    im2col_forward(x, weight, bias, y, saved, batch, out_channels, g);
  }
}

void conv2d_backward(const float* x, const float* dy, const float* saved, const float* weight,
                     float* dweight, float* dbias, float* dx, float* workspace, std::size_t batch,
                     std::size_t out_channels, const WindowGeometry& g) {
  if (uses_shifted_rows(g)) {
    shifted_backward(x, dy, weight, dweight, dbias, dx, workspace, batch, out_channels, g);
  } else {
    im2col_backward(dy, saved, weight, dweight, dbias, dx, workspace, batch, out_channels, g);
  }
}

}  // namespace cnn::kernels
