// The stride-1 path of the convolution kernels (kernels.hpp: conv2d_forward, conv2d_backward).
// With stride 1, row (c,m,n) of an image's im2col matrix is the padded image itself shifted by
// off(c,m,n) = c·Hp·Wp + m·Wp + n, if output rows are laid out Wp wide: output (i, j) sits at
// i·Wp + j and reads padded input off + i·Wp + j. So the products read the image in place through
// a table of K row offsets, with no K·P copy. The Wp − OW extra columns of each "wide" output row
// are computed and dropped (forward) or fed zeros (weight gradient).
#include <algorithm>
#include <cstring>

#include "cnn/core/parallel.hpp"
#include "kernels/conv2d_paths.hpp"
#include "kernels/kernels.hpp"
#include "tiles.hpp"

namespace cnn::kernels::conv2d_detail {

namespace {

constexpr std::size_t kMaxShiftedK = 4096;  // offsets live on the stack
constexpr std::size_t kImagesPerDot = 4;    // images per pass of the weight-gradient tiles

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

// dst[0, n) = src[0, n) and dst[n, total) = 0 (n <= total), in whole vectors and masked ones: a
// row of x or dy placed in a wider row. std::copy_n and std::fill went through libc's memmove and
// memset for each row of 28 floats, and with the loop around them took a third of LeNet-5's
// first-layer weight gradient.
[[gnu::always_inline]] inline void copy_row(const float* src, std::size_t n, float* dst,
                                            std::size_t total) {
  using tiles::kLanes;
  std::size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) tiles::store(dst + j, tiles::load(src + j));
  if (j < n) {
    const tiles::Vec last = tiles::load_first(src + j, n - j);  // zeros past n
    if (j + kLanes > total) {
      tiles::store_first(dst + j, last, total - j);
      return;
    }
    tiles::store(dst + j, last);
    j += kLanes;
  }
  for (; j + kLanes <= total; j += kLanes) tiles::store(dst + j, tiles::Vec{});
  if (j < total) tiles::store_first(dst + j, tiles::Vec{}, total - j);
}

// The image x[C,H,W] with its zero padding, or x itself when there is none. The border is zeroed
// only when borders_zero is false: a buffer that held a padded image of the same geometry still
// has a zero border, since only the interior is ever written.
const float* padded_image(const float* x, const WindowGeometry& g, const Shifted& sh, float* buffer,
                          bool borders_zero = false) {
  if (g.padding.h == 0 && g.padding.w == 0) return x;
  if (!borders_zero) std::fill(buffer, buffer + sh.padded, 0.0f);
  // Locals, not fields read through g and sh again after each (may-alias) vector store.
  const std::size_t channels = g.channels, h = g.in_h, w = g.in_w, hp = sh.hp, wp = sh.wp;
  float* const interior = buffer + g.padding.h * wp + g.padding.w;
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t a = 0; a < h; ++a)
      copy_row(x + (c * h + a) * w, w, interior + (c * hp + a) * wp, w);
  return buffer;
}

// A stride-1 convolution of one image: y[D,OH,OW] = W[D,K] · (shifted rows of padded x) + b
// (no bias when bias is null). Needs shifted_image_workspace(D, g) floats; borders_zero as in
// padded_image, for the workspace's padded image.
std::size_t shifted_image_workspace(std::size_t D, const WindowGeometry& g) {
  const Shifted sh(g);
  return sh.padded + D * sh.wide;
}
void shifted_image(const float* x, const float* weight, const float* bias, float* y,
                   float* workspace, std::size_t D, const WindowGeometry& g, const Shifted& sh,
                   const std::uint32_t* offsets, bool borders_zero) {
  const std::size_t K = patch_size(g), oh = g.out_h(), ow = g.out_w();
  float* wide = workspace + sh.padded;
  const float* xp = padded_image(x, g, sh, workspace, borders_zero);
  // wide[D, (OH−1)·Wp + OW] = W[D,K] · (rows of xp at the K offsets)
  tiles::axpy_product<false>(
      D, sh.wide, K, weight, K, [&](std::size_t k) { return xp + offsets[k]; },
      [&](std::size_t d) { return wide + d * sh.wide; }, false);
  // y[d, i, :] = wide[d, i·Wp : i·Wp + OW] + b[d]: whole vectors and one masked vector per row
  // (GCC's own loop took a 16-, an 8- and a scalar step for rows of 28, 28 % of LeNet-5's first
  // convolution).
  using tiles::kLanes;
  for (std::size_t d = 0; d < D; ++d) {
    const tiles::Vec b = tiles::broadcast(bias != nullptr ? bias[d] : 0.0f);
    for (std::size_t i = 0; i < oh; ++i) {
      const float* row = wide + d * sh.wide + i * sh.wp;
      float* out = y + (d * oh + i) * ow;
      std::size_t j = 0;
      for (; j + kLanes <= ow; j += kLanes) tiles::store(out + j, tiles::load(row + j) + b);
      if (j < ow) {
        tiles::store_first(out + j, tiles::load_first(row + j, ow - j) + b, ow - j);
      }
    }
  }
}

}  // namespace

// yᵀ[P, D] = y[D, P], D a whole number of vectors: kLanes x kLanes blocks through registers (a
// scalar copy, reading y a plane apart, took half of `best` conv1x32k5's weight gradient), the
// last P mod kLanes positions one by one.
void transpose_planes(const float* y, std::size_t D, std::size_t P, float* yt) {
  using tiles::kLanes;
  std::size_t p = 0;
  for (; p + kLanes <= P; p += kLanes) {
    for (std::size_t d = 0; d < D; d += kLanes) {
      tiles::Vec block[kLanes];
      for (std::size_t l = 0; l < kLanes; ++l) block[l] = tiles::load(y + (d + l) * P + p);
      tiles::transpose(block);
      for (std::size_t l = 0; l < kLanes; ++l) tiles::store(yt + (p + l) * D + d, block[l]);
    }
  }
  for (; p < P; ++p)
    for (std::size_t d = 0; d < D; ++d) yt[p * D + d] = y[d * P + p];
}

namespace {

// The transposed weight gradient of one image, for one kernel window's R = kw columns and M of
// its rows at a time: dWᵀ[(c, m0 + a, n), d0 : d0 + V·kLanes] (+)= Σ_i Σ_{j<OW} x_pad[c, m0 + a +
// i, n + j] · dyᵀ[i·OW + j, d0 : d0 + V·kLanes], for a < M, n < R. Shapes: in points at x_pad[c,
// m0, 0] (rows wp apart), dyt at dyᵀ[0, d0] ([OH·OW, D], rows D apart), dw at dWᵀ[(c, m0, 0), d0]
// (rows D apart, kernel rows R·D apart). The R columns of a kernel row read one pointer at fixed
// offsets, so M pointers serve all M·R broadcasts (the generic tiles took one per row of the
// tile, more than x86 has registers for); and only the OW real columns of each output row are
// visited, where the Wp-wide rows spent (Wp − OW)/Wp of their multiply-adds on zeros. For each
// sum the terms come in the same order as over the wide rows, zeros left out, and the image's
// sum is added to dw at the end as before: the same bits.
template <std::size_t R, std::size_t M, std::size_t V>
void transposed_dw_tile(const float* in, std::size_t wp, std::size_t oh, std::size_t ow,
                        const float* dyt, std::size_t D, float* dw, bool accumulate) {
  using tiles::kLanes;
  tiles::Vec sum[M][R][V] = {};
  for (std::size_t i = 0; i < oh; ++i) {
    const float* x_row = in + i * wp;
    const float* dy_row = dyt + i * ow * D;
    for (std::size_t j = 0; j < ow; ++j) {
      tiles::Vec b[V];
      for (std::size_t v = 0; v < V; ++v)
        b[v] = tiles::in_register(tiles::load(dy_row + j * D + v * kLanes));
#pragma GCC unroll 8
      for (std::size_t a = 0; a < M; ++a) {
#pragma GCC unroll 8
        for (std::size_t n = 0; n < R; ++n) {
          const tiles::Vec x = tiles::broadcast(x_row[a * wp + j + n]);
          for (std::size_t v = 0; v < V; ++v) sum[a][n][v] += x * b[v];
        }
      }
    }
  }
#pragma GCC unroll 8
  for (std::size_t a = 0; a < M; ++a) {
#pragma GCC unroll 8
    for (std::size_t n = 0; n < R; ++n) {
      float* row = dw + (a * R + n) * D;
      for (std::size_t v = 0; v < V; ++v) {
        if (accumulate) sum[a][n][v] += tiles::load(row + v * kLanes);
        tiles::store(row + v * kLanes, sum[a][n][v]);
      }
    }
  }
}

// The sums a tile keeps in registers: AVX-512 has 32 vector registers, AVX2 and SSE 16, and the
// tile needs V more for dy and one for the broadcast.
constexpr std::size_t kTransposedDwSums = tiles::kLanes == 16 ? 24 : 12;

// dWᵀ[K, D] (+)= the transposed weight gradient of one image, as transposed_dw_tile, for kw = R:
// V vectors of D at a time, the most (of 4, 2, 1) that divide D's vectors and fit R·V sums, and
// the kernel's rows in as few tiles as fit those sums, of near-equal height: kh = 5 as 3 + 2 rows
// (15 and 10 sums) rather than 4 + 1, whose last tile had too few sums in flight to hide the
// multiply-adds' latency (22 % of LeNet-5 conv6x16k5's weight gradient).
template <std::size_t R, std::size_t V, std::size_t M>
void transposed_dw_rows(std::size_t rows, const float* in, std::size_t wp, std::size_t oh,
                        std::size_t ow, const float* dyt, std::size_t D, float* dw,
                        bool accumulate) {
  if constexpr (M > 1) {
    if (rows < M) {
      transposed_dw_rows<R, V, M - 1>(rows, in, wp, oh, ow, dyt, D, dw, accumulate);
      return;
    }
  }
  transposed_dw_tile<R, M, V>(in, wp, oh, ow, dyt, D, dw, accumulate);
}

template <std::size_t R>
void transposed_dw_image(const float* xp, const WindowGeometry& g, const Shifted& sh,
                         const float* dyt, std::size_t D, float* dw, bool accumulate) {
  const std::size_t vectors = D / tiles::kLanes, kh = g.kernel.h;
  const auto run = [&]<std::size_t V>() {
    constexpr std::size_t most = std::clamp<std::size_t>(kTransposedDwSums / (R * V), 1, 4);
    const std::size_t tiles = (kh + most - 1) / most;
    for (std::size_t d0 = 0; d0 < D; d0 += V * tiles::kLanes) {
      for (std::size_t c = 0; c < g.channels; ++c) {
        for (std::size_t t = 0, m = 0; t < tiles; ++t) {
          const std::size_t rows = (kh - m) / (tiles - t);  // the taller tiles last
          transposed_dw_rows<R, V, most>(rows, xp + (c * sh.hp + m) * sh.wp, sh.wp, g.out_h(),
                                         g.out_w(), dyt + d0, D, dw + (c * kh + m) * R * D + d0,
                                         accumulate);
          m += rows;
        }
      }
    }
  };
  if (vectors % 4 == 0 && R * 4 <= kTransposedDwSums) {
    run.template operator()<4>();
  } else if (vectors % 2 == 0 && R * 2 <= kTransposedDwSums) {
    run.template operator()<2>();
  } else {
    run.template operator()<1>();
  }
}

// The forward pass of one image with D a whole number of vectors, transposed: yᵀ[P, D] =
// Σ_k (row k of the shifted input)ᵀ · Wᵀ[k, D], with only the OH·OW real positions computed (the
// Wp-wide rows spent (Wp − OW)/Wp of their multiply-adds on columns then dropped: 36 of 136 for
// LeNet-5's conv6x16k5) and D in the vector lanes, so that one load of Wᵀ serves a whole tile of
// positions. A tile is Rows output rows by Cols positions by V vectors of D: yᵀ[(i0 + r)·OW + j0 +
// s, d0 + v·kLanes ...] = Σ_k x_pad[offsets[k] + (i0 + r)·Wp + j0 + s] · Wᵀ[k, d0 + v·kLanes ...].
// Shapes: in points at x_pad[i0·Wp + j0], wt at Wᵀ[0, d0] ([K, D]), yt at yᵀ[i0·OW + j0, d0]
// ([OH·OW, D]). Each sum takes its K terms in the order of the wide rows' tiles, from zero:
// the same bits.
template <std::size_t Rows, std::size_t Cols, std::size_t V>
void transposed_forward_tile(const float* in, std::size_t wp, const std::uint32_t* offsets,
                             std::size_t K, const float* wt, std::size_t D, float* yt,
                             std::size_t ow) {
  using tiles::kLanes;
  tiles::Vec sum[Rows][Cols][V] = {};
  for (std::size_t k = 0; k < K; ++k) {
    const float* x = in + offsets[k];
    tiles::Vec w[V];
    for (std::size_t v = 0; v < V; ++v)
      w[v] = tiles::in_register(tiles::load(wt + k * D + v * kLanes));
#pragma GCC unroll 16
    for (std::size_t r = 0; r < Rows; ++r) {
#pragma GCC unroll 16
      for (std::size_t s = 0; s < Cols; ++s) {
        const tiles::Vec xv = tiles::broadcast(x[r * wp + s]);
        for (std::size_t v = 0; v < V; ++v) sum[r][s][v] += xv * w[v];
      }
    }
  }
#pragma GCC unroll 16
  for (std::size_t r = 0; r < Rows; ++r) {
#pragma GCC unroll 16
    for (std::size_t s = 0; s < Cols; ++s) {
      for (std::size_t v = 0; v < V; ++v)
        tiles::store(yt + (r * ow + s) * D + v * kLanes, sum[r][s][v]);
    }
  }
}

// A tile `cols` positions wide (cols <= Cols), as transposed_forward_tile.
template <std::size_t Rows, std::size_t V, std::size_t Cols>
void transposed_forward_cols(std::size_t cols, const float* in, std::size_t wp,
                             const std::uint32_t* offsets, std::size_t K, const float* wt,
                             std::size_t D, float* yt, std::size_t ow) {
  if constexpr (Cols > 1) {
    if (cols < Cols) {
      transposed_forward_cols<Rows, V, Cols - 1>(cols, in, wp, offsets, K, wt, D, yt, ow);
      return;
    }
  }
  transposed_forward_tile<Rows, Cols, V>(in, wp, offsets, K, wt, D, yt, ow);
}

// The sums a forward tile keeps in registers, as kTransposedDwSums: 24 of AVX-512's 32 vector
// registers (2 rows of 12 positions for D = 16, 2 of 6 for 32, 2 of 3 for 64), 12 of 16 otherwise.
constexpr std::size_t kTransposedForwardSums = tiles::kLanes == 16 ? 24 : 12;

// yᵀ[OH·OW, D] = the transposed forward pass of one padded image (no bias), in tiles of two
// output rows (one for an odd last row) and the row's positions split into near-equal runs.
void transposed_forward_image(const float* xp, const WindowGeometry& g, const Shifted& sh,
                              const std::uint32_t* offsets, const float* wt, std::size_t D,
                              float* yt) {
  const std::size_t K = patch_size(g), oh = g.out_h(), ow = g.out_w();
  const std::size_t vectors = D / tiles::kLanes;
  const auto run = [&]<std::size_t V>() {
    constexpr std::size_t cols = std::max<std::size_t>(kTransposedForwardSums / (2 * V), 1);
    const std::size_t runs = (ow + cols - 1) / cols;
    for (std::size_t d0 = 0; d0 < D; d0 += V * tiles::kLanes) {
      for (std::size_t i = 0; i < oh; i += 2) {
        for (std::size_t t = 0, j = 0; t < runs; ++t) {
          const std::size_t width = (ow - j) / (runs - t);  // the wider runs last
          const float* in = xp + i * sh.wp + j;
          float* out = yt + (i * ow + j) * D + d0;
          if (i + 1 < oh) {
            transposed_forward_cols<2, V, cols>(width, in, sh.wp, offsets, K, wt + d0, D, out, ow);
          } else {
            transposed_forward_cols<1, V, cols>(width, in, sh.wp, offsets, K, wt + d0, D, out, ow);
          }
          j += width;
        }
      }
    }
  };
  if (vectors % 4 == 0) {
    run.template operator()<4>();
  } else if (vectors % 2 == 0) {
    run.template operator()<2>();
  } else {
    run.template operator()<1>();
  }
}

}  // namespace

// y[d, p] = yᵀ[p, d] + b[d], D a whole number of vectors: transpose_planes' way back, with the
// bias added to each transposed row (a scalar copy back gave up most of the transposed forward's
// gain).
void transpose_planes_back(const float* yt, const float* bias, std::size_t D, std::size_t P,
                           float* y) {
  using tiles::kLanes;
  std::size_t p = 0;
  for (; p + kLanes <= P; p += kLanes) {
    for (std::size_t d = 0; d < D; d += kLanes) {
      tiles::Vec block[kLanes];
      for (std::size_t l = 0; l < kLanes; ++l) block[l] = tiles::load(yt + (p + l) * D + d);
      tiles::transpose(block);
      for (std::size_t l = 0; l < kLanes; ++l) {
        const float b = bias != nullptr ? bias[d + l] : 0.0f;
        tiles::store(y + (d + l) * P + p, block[l] + tiles::broadcast(b));
      }
    }
  }
  for (; p < P; ++p)
    for (std::size_t d = 0; d < D; ++d)
      y[d * P + p] = yt[p * D + d] + (bias != nullptr ? bias[d] : 0.0f);
}

namespace {

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

}  // namespace

bool uses_shifted_rows(const WindowGeometry& g) {
  return g.stride.h == 1 && g.stride.w == 1 && patch_size(g) <= kMaxShiftedK;
}

std::size_t shifted_workspace_size(std::size_t batch, std::size_t D, const WindowGeometry& g) {
  const std::size_t chunks = parallel_chunks(batch);
  // The forward pass's transposed weights (see shifted_forward) are shared and come first.
  const std::size_t forward = D * patch_size(g) + chunks * shifted_image_workspace(D, g);
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
  const std::size_t K = patch_size(g), P = plane_size(g);
  const std::size_t per_thread = shifted_image_workspace(D, g);
  const std::size_t in_image = g.channels * g.in_h * g.in_w, out_image = D * P;
  // With D a whole number of vectors, the transposed form (transposed_forward_image) on Wᵀ[K, D].
  const bool transposed = D % tiles::kLanes == 0;
  float* wt = workspace;
  if (transposed) transpose_planes(weight, D, K, wt);
  float* threads = workspace + D * K;
  parallel_for(batch, [&](std::size_t thread, std::size_t begin, std::size_t end) {
    float* own = threads + thread * per_thread;
    for (std::size_t n = begin; n < end; ++n) {
      // The thread's padded image keeps its zero border from one image to the next.
      if (transposed) {
        const float* xp = padded_image(x + n * in_image, g, sh, own, n > begin);
        float* yt = own + sh.padded;
        transposed_forward_image(xp, g, sh, offsets, wt, D, yt);
        transpose_planes_back(yt, bias, D, P, y + n * out_image);
      } else {
        shifted_image(x + n * in_image, weight, bias, y + n * out_image, own, D, g, sh, offsets,
                      n > begin);
      }
    }
  });
}

// One function of 135 lines on purpose: the per-thread body shares the workspace layout (wide dy,
// padded images, partial sums, the reordered weights) and a dozen sizes with the set-up before
// it; cut apart, each piece would take all of them as arguments.
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
    // The Wp-wide copy of dy feeds dx and the dot-product form of dW; the transposed form reads dy
    // itself.
    const bool needs_wide_dy = dx != nullptr || !transposed_dw;
    for (std::size_t n = begin; n < end; ++n) {
      if (padded) padded_image(x + n * in_image, g, sh, pads + (n - begin) * sh.padded);
      const float* dy_n = dy + n * D * P;
      // db[d] += Σ_p dy[d, p], the whole plane in vector lanes with one reduction per channel.
      for (std::size_t d = 0; d < D; ++d) {
        const float* plane = dy_n + d * P;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (std::size_t p = 0; p < P; ++p) sum += plane[p];
        db[d] += sum;
      }
      if (!needs_wide_dy) continue;
      // dy laid out Wp wide, zero in the extra columns so they add nothing.
      // The sizes as locals: the vector stores may alias anything, so values read through the
      // captured references were read again after every store, row by row (10 % faster for the
      // seed network's first-layer weight gradient).
      const std::size_t rows = oh, cols = ow, wp = sh.wp, wide = sh.wide, planes = D;
      float* wdy = wide_dy(n - begin);
      for (std::size_t d = 0; d < planes; ++d) {
        for (std::size_t i = 0; i < rows; ++i) {
          copy_row(dy_n + (d * rows + i) * cols, cols, wdy + d * wide + i * wp,
                   i + 1 < rows ? wp : cols);
        }
      }
    }
    if (transposed_dw) {
      // dWᵀ[K,D] = Σ_images Σ_q x_shifted[K, q] · dyᵀ[q, D]: with D a whole number of vectors,
      // register tiles that broadcast input values from the K shifted rows and load dy
      // transposed, D values per position q. For the common kernel widths (3 and 5),
      // transposed_dw_image over the real positions only, dyᵀ [OH·OW, D]; otherwise the forward
      // pass's tiles over the wide positions q = i·Wp + j, dyᵀ [wide, D], zero where j ≥ OW so
      // that those positions add nothing.
      const bool compact = kw == 3 || kw == 5;
      float* dyt = dx_workspace + sh.padded;
      for (std::size_t image = 0; image < end - begin; ++image) {
        const float* dy_n = dy + (begin + image) * D * P;
        if (compact) {
          transpose_planes(dy_n, D, P, dyt);
        } else {
          for (std::size_t i = 0; i < oh; ++i) {
            float* row = dyt + i * sh.wp * D;
            for (std::size_t j = 0; j < ow; ++j)
              for (std::size_t d = 0; d < D; ++d) row[j * D + d] = dy_n[d * P + i * ow + j];
            if (i + 1 < oh) std::fill(row + ow * D, row + sh.wp * D, 0.0f);
          }
        }
        const float* in = xp(image);
        if (kw == 5) {
          transposed_dw_image<5>(in, g, sh, dyt, D, dw, image > 0);
        } else if (kw == 3) {
          transposed_dw_image<3>(in, g, sh, dyt, D, dw, image > 0);
        } else {
          tiles::axpy_product(
              K, D, sh.wide, [&](std::size_t k, std::size_t q) { return in[offsets[k] + q]; },
              [&](std::size_t q) { return dyt + q * D; }, [&](std::size_t k) { return dw + k * D; },
              image > 0);
        }
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

}  // namespace cnn::kernels::conv2d_detail
