// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray 2016) for 3x3, stride-1 convolutions
// (padding up to 2): each 2x2 block of an output plane from a 4x4 block of the padded input with
// 16 multiplications per (input, output) channel pair instead of 36.
//
//   U[ξ, c, d]  = (G·w[d, c]·Gᵀ)[ξ]       weights, 16 transformed values per channel pair
//   V[ξ, t, c]  = (Bᵀ·x_t[c]·B)[ξ]         the 4x4 input tile t of channel c, transformed
//   M[ξ, t, d]  = Σ_c V[ξ, t, c]·U[ξ, c, d] 16 matrix products, [T, C]·[C, D]
//   y_t[d]      = Aᵀ·M[·, t, d]·A + b[d]  the 2x2 output block of tile t
//
// with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1] and
// Aᵀ = [1 1 1 0; 0 1 −1 −1]. The channels are in vector lanes throughout (the input transposed
// to positions × channels, the output written positions × channels and transposed back), so the
// transforms are whole-vector additions and the products are the broadcast tiles of tiles.hpp.
// Channel counts are rounded up to whole vectors inside the workspace (Cv, Dv below), the extra
// channels zero: any C and D work, whole vectors of them fastest.
// The sums are not the direct convolution's: each output is the same mathematical sum reached
// through other roundings, within a few float ulps of it for inputs of like magnitude
// (conv2d_winograd_test checks the stated tolerance against the direct kernel).
#include <algorithm>
#include <cstring>

#include "cnn/core/parallel.hpp"
#include "kernels/conv2d_paths.hpp"
#include "kernels/kernels.hpp"
#include "tiles.hpp"

namespace cnn::kernels::conv2d_detail {

namespace {

constexpr std::size_t kTileValues = 16;  // a 4x4 input tile, and its transform

std::size_t whole_vectors(std::size_t channels) {
  return (channels + tiles::kLanes - 1) / tiles::kLanes * tiles::kLanes;
}

struct WinogradShape {
  std::size_t oh, ow;     // output plane
  std::size_t th, tw, T;  // 2x2 output tiles per column and row, and per image
  std::size_t hb, wb;     // the padded, transposed input: 2·th + 2 rows of 2·tw + 2 positions
  std::size_t pad_h, pad_w;
  explicit WinogradShape(const WindowGeometry& g)
      : oh(g.out_h()),
        ow(g.out_w()),
        th((oh + 1) / 2),
        tw((ow + 1) / 2),
        T(th * tw),
        hb(2 * th + 2),
        wb(2 * tw + 2),
        pad_h(g.padding.h),
        pad_w(g.padding.w) {}
};

// Tiles per pass of the three stages: V and M of that many tiles take at most 256 KB together,
// so that they stay in the L2 cache between the stages (a 28 x 28 plane of 32 channels, all 196
// tiles at once, spent a fifth of its time waiting for them); and the plane's T tiles split into
// passes of equal size, since a short last pass runs short register tiles.
std::size_t tiles_per_chunk(std::size_t Cv, std::size_t Dv, std::size_t T) {
  const std::size_t most = std::clamp<std::size_t>(65536 / (kTileValues * (Cv + Dv)), 1, T);
  const std::size_t passes = (T + most - 1) / most;
  return (T + passes - 1) / passes;
}

// The distance between V's (or M's) 16 planes of `chunk` tiles: a vector more than the plane, so
// that the 16 stores (or loads) of one tile's transform do not all fall in one set of the L1
// cache when the plane is a multiple of 4 KB (64 tiles of 32 channels: the input transform took
// four times as long).
std::size_t plane_stride(std::size_t chunk, std::size_t channels) {
  return chunk * channels + tiles::kLanes;
}

// Per thread: the padded input [hb·wb, Cv], V [16, chunk, Cv], M [16, chunk, Dv] (planes
// plane_stride apart) and the output [P, Dv].
std::size_t per_thread_size(std::size_t D, const WindowGeometry& g, const WinogradShape& s) {
  const std::size_t C = whole_vectors(g.channels), Dv = whole_vectors(D);
  const std::size_t chunk = tiles_per_chunk(C, Dv, s.T);
  return s.hb * s.wb * C + kTileValues * (plane_stride(chunk, C) + plane_stride(chunk, Dv)) +
         s.oh * s.ow * Dv;
}

// Shared by all threads: U [16, Cv, Dv] and the kernels on their way to it, [C, 9, Dv].
std::size_t shared_size(std::size_t C, std::size_t D) {
  return (kTileValues + 9) * whole_vectors(C) * whole_vectors(D);
}

// The input gradient's product: dy (D channels of OH x OW, padded by 2 − p) with the flipped
// kernels, into C channels of H x W.
WindowGeometry backward_geometry(const WindowGeometry& g, std::size_t D) {
  WindowGeometry back = g;
  back.channels = D;
  back.in_h = g.out_h();
  back.in_w = g.out_w();
  back.padding = {2 - g.padding.h, 2 - g.padding.w};
  return back;
}

// U[ξ, c, d] = (G·w[d, c]·Gᵀ)[ξ], w [D, C, 3, 3], u [16, Cv, Dv] (zero where c ≥ C or d ≥ D).
// Once per call, shared by all threads. `flipped` reads w as the data gradient's weights:
// w'[d, c, m, n] = w[c, d, 2 − m, 2 − n], w [C, D, 3, 3] (C the input channels of that product,
// the gradient's). The kernels are first laid out wt [C, 9, Dv], output channels in lanes, so that
// the transform is whole-vector arithmetic (one kernel at a time, it took 15 % of `best`'s
// conv32x64k3 forward pass).
void transform_weights(const float* w, std::size_t C, std::size_t D, bool flipped, float* wt,
                       float* u) {
  using tiles::Vec;
  const std::size_t Cv = whole_vectors(C), Dv = whole_vectors(D);
  for (std::size_t c = 0; c < C; ++c) {
    for (std::size_t mn = 0; mn < 9; ++mn) {
      float* row = wt + (c * 9 + mn) * Dv;
      for (std::size_t d = 0; d < D; ++d)
        row[d] = flipped ? w[(c * D + d) * 9 + (8 - mn)] : w[(d * C + c) * 9 + mn];
      std::fill(row + D, row + Dv, 0.0f);
    }
  }
  for (std::size_t xi = 0; xi < kTileValues; ++xi)
    std::fill(u + (xi * Cv + C) * Dv, u + (xi + 1) * Cv * Dv, 0.0f);
  const Vec half = tiles::broadcast(0.5f);
  for (std::size_t c = 0; c < C; ++c) {
    for (std::size_t d = 0; d < Dv; d += tiles::kLanes) {
      Vec k[3][3];
      for (std::size_t m = 0; m < 3; ++m)
        for (std::size_t n = 0; n < 3; ++n)
          k[m][n] = tiles::load(wt + (c * 9 + m * 3 + n) * Dv + d);
      Vec gk[4][3];  // G·k
      for (std::size_t n = 0; n < 3; ++n) {
        gk[0][n] = k[0][n];
        gk[1][n] = half * (k[0][n] + k[1][n] + k[2][n]);
        gk[2][n] = half * (k[0][n] - k[1][n] + k[2][n]);
        gk[3][n] = k[2][n];
      }
      for (std::size_t r = 0; r < 4; ++r) {
        const Vec v[4] = {gk[r][0], half * (gk[r][0] + gk[r][1] + gk[r][2]),
                          half * (gk[r][0] - gk[r][1] + gk[r][2]), gk[r][2]};
        for (std::size_t q = 0; q < 4; ++q) tiles::store(u + ((r * 4 + q) * Cv + c) * Dv + d, v[q]);
      }
    }
  }
}

// xt[(a + pad_h)·wb + b + pad_w, c] = x[c, a, b], xt [hb·wb, Cv]; the border and the channels
// past C (zeros) are written only when `border` is set: each thread's buffer keeps them from one
// image to the next. With C a whole number of vectors, kLanes x kLanes blocks (kLanes channels
// of kLanes positions of a row) through registers, straight into the padded rows.
void transpose_padded(const float* x, std::size_t C, const WindowGeometry& g,
                      const WinogradShape& s, bool border, float* xt) {
  using tiles::kLanes;
  const std::size_t Cv = whole_vectors(C), H = g.in_h, W = g.in_w;
  if (border) std::fill_n(xt, s.hb * s.wb * Cv, 0.0f);
  if (C != Cv) {
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t a = 0; a < H; ++a)
        for (std::size_t b = 0; b < W; ++b)
          xt[((a + s.pad_h) * s.wb + b + s.pad_w) * Cv + c] = x[(c * H + a) * W + b];
    return;
  }
  for (std::size_t a = 0; a < H; ++a) {
    float* row = xt + ((a + s.pad_h) * s.wb + s.pad_w) * C;
    for (std::size_t b = 0; b < W; b += kLanes) {
      const std::size_t n = std::min(kLanes, W - b);
      for (std::size_t c = 0; c < C; c += kLanes) {
        tiles::Vec block[kLanes];
        for (std::size_t l = 0; l < kLanes; ++l) {
          const float* in = x + ((c + l) * H + a) * W + b;
          block[l] = n == kLanes ? tiles::load(in) : tiles::load_first(in, n);
        }
        tiles::transpose(block);
        for (std::size_t l = 0; l < n; ++l) tiles::store(row + (b + l) * C + c, block[l]);
      }
    }
  }
}

// y[d, p] = yt[p, d] + bias[d] (bias may be null) for d < D, yt [P, Dv].
void transpose_back(const float* yt, const float* bias, std::size_t D, std::size_t P, float* y) {
  const std::size_t Dv = whole_vectors(D);
  if (D == Dv) {
    transpose_planes_back(yt, bias, D, P, y);
    return;
  }
  for (std::size_t d = 0; d < D; ++d) {
    const float b = bias != nullptr ? bias[d] : 0.0f;
    for (std::size_t p = 0; p < P; ++p) y[d * P + p] = yt[p * Dv + d] + b;
  }
}

// V[ξ, t − t0, c] for the tiles t0 <= t < t1 and every channel c, kLanes channels at a time; v
// holds `chunk` tiles for each ξ, planes plane_stride apart.
void transform_input(const float* xt, std::size_t C, const WinogradShape& s, std::size_t t0,
                     std::size_t t1, std::size_t chunk, float* v) {
  using tiles::Vec;
  const std::size_t row = s.wb * C, plane = plane_stride(chunk, C);
  for (std::size_t t = t0; t < t1; ++t) {
    const std::size_t i = t / s.tw, j = t % s.tw;
    for (std::size_t c = 0; c < C; c += tiles::kLanes) {
      const float* in = xt + (2 * i) * row + (2 * j) * C + c;
      Vec b[4][4];  // Bᵀ·x, row by row
      for (std::size_t n = 0; n < 4; ++n) {
        const Vec x0 = tiles::load(in + n * C), x1 = tiles::load(in + row + n * C);
        const Vec x2 = tiles::load(in + 2 * row + n * C), x3 = tiles::load(in + 3 * row + n * C);
        b[0][n] = x0 - x2;
        b[1][n] = x1 + x2;
        b[2][n] = x2 - x1;
        b[3][n] = x1 - x3;
      }
      float* out = v + (t - t0) * C + c;
      for (std::size_t r = 0; r < 4; ++r) {
        tiles::store(out + (r * 4 + 0) * plane, b[r][0] - b[r][2]);
        tiles::store(out + (r * 4 + 1) * plane, b[r][1] + b[r][2]);
        tiles::store(out + (r * 4 + 2) * plane, b[r][2] - b[r][1]);
        tiles::store(out + (r * 4 + 3) * plane, b[r][1] - b[r][3]);
      }
    }
  }
}

// yt[(2i + a)·OW + 2j + b, d] = (Aᵀ·M[·, t − t0, d]·A)[a, b] for the tiles t0 <= t < t1 and
// the output positions inside the plane, kLanes output channels at a time; m holds `chunk` tiles
// for each ξ, planes plane_stride apart.
void transform_output(const float* m, std::size_t D, const WinogradShape& s, std::size_t t0,
                      std::size_t t1, std::size_t chunk, float* yt) {
  using tiles::Vec;
  const std::size_t plane = plane_stride(chunk, D);
  for (std::size_t t = t0; t < t1; ++t) {
    const std::size_t i = t / s.tw, j = t % s.tw;
    const bool bottom = 2 * i + 1 < s.oh, right = 2 * j + 1 < s.ow;
    for (std::size_t d = 0; d < D; d += tiles::kLanes) {
      const float* in = m + (t - t0) * D + d;
      Vec a[2][4];  // Aᵀ·M
      for (std::size_t n = 0; n < 4; ++n) {
        const Vec m0 = tiles::load(in + n * plane), m1 = tiles::load(in + (4 + n) * plane);
        const Vec m2 = tiles::load(in + (8 + n) * plane), m3 = tiles::load(in + (12 + n) * plane);
        a[0][n] = m0 + m1 + m2;
        a[1][n] = m1 - m2 - m3;
      }
      float* out = yt + ((2 * i) * s.ow + 2 * j) * D + d;
      for (std::size_t r = 0; r < (bottom ? 2u : 1u); ++r) {
        float* row = out + r * s.ow * D;
        tiles::store(row, a[r][0] + a[r][1] + a[r][2]);
        if (right) tiles::store(row + D, a[r][1] - a[r][2] - a[r][3]);
      }
    }
  }
}

// out[T, D] = in[T, C] · u[C, D], D a whole number of V vectors: R x V register tiles (R rows of
// tiles, V vectors of output channels) with each input value broadcast and V vectors of u loaded
// per input channel.
template <std::size_t R, std::size_t V>
void tile_product_rows(const float* in, const float* u, float* out, std::size_t T, std::size_t C,
                       std::size_t D) {
  for (std::size_t t = 0; t < T; t += R) {
    const std::size_t rows = std::min(R, T - t);
    for (std::size_t d = 0; d < D; d += V * tiles::kLanes) {
      const auto a = [&](std::size_t r, std::size_t c) { return in[(t + r) * C + c]; };
      const auto b = [&](std::size_t c) { return u + c * D + d; };
      const auto c_row = [&](std::size_t r) { return out + (t + r) * D + d; };
      if (rows == R) {
        tiles::axpy_tile<R, V>(C, a, b, c_row, false);
      } else {
        [&]<std::size_t... Q>(std::index_sequence<Q...>) {
          ((rows == Q + 1 ? (tiles::axpy_tile<Q + 1, V>(C, a, b, c_row, false), 0) : 0), ...);
        }
        (std::make_index_sequence<R - 1>{});
      }
    }
  }
}

// tile_product_rows with the tile height among Rs that covers T rows in the fewest tiles, and of
// those the one whose last tile is fullest: a short last tile runs its multiply-adds at a
// fraction of the pace (`best`'s 25 tiles a plane in tiles of 6 left one of a single row, a fifth
// of the product's time for a twenty-fifth of its work; tiles of 5 fit exactly).
template <std::size_t V, std::size_t... Rs>
void tile_product_fitted(const float* in, const float* u, float* out, std::size_t T, std::size_t C,
                         std::size_t D) {
  std::size_t height = 0, fewest = 0, last = 0;
  for (const std::size_t R : {Rs...}) {
    const std::size_t count = (T + R - 1) / R, fill = T - (count - 1) * R;
    if (height == 0 || count < fewest || (count == fewest && fill > last)) {
      height = R;
      fewest = count;
      last = fill;
    }
  }
  ((height == Rs ? tile_product_rows<Rs, V>(in, u, out, T, C, D) : void()), ...);
}

// The register shapes: with AVX-512's 32 registers up to 6 x 4 (24 sums, 4 loads and 6 broadcasts
// per 24 multiply-adds), 12 x 2 or 16 x 1; with 16 registers 2 x 4, 6 x 2 or 12 x 1.
void tile_product(const float* in, const float* u, float* out, std::size_t T, std::size_t C,
                  std::size_t D) {
  if constexpr (tiles::kLanes == 16) {
    if (D % (4 * tiles::kLanes) == 0) {
      tile_product_fitted<4, 6, 5, 4>(in, u, out, T, C, D);
    } else if (D % (2 * tiles::kLanes) == 0) {
      tile_product_fitted<2, 12, 11, 10, 9, 8>(in, u, out, T, C, D);
    } else {
      tile_product_fitted<1, 16, 14, 12>(in, u, out, T, C, D);
    }
  } else {
    if (D % (4 * tiles::kLanes) == 0) {
      tile_product_fitted<4, 2>(in, u, out, T, C, D);
    } else if (D % (2 * tiles::kLanes) == 0) {
      tile_product_fitted<2, 6, 5, 4>(in, u, out, T, C, D);
    } else {
      tile_product_fitted<1, 12, 10, 8>(in, u, out, T, C, D);
    }
  }
}

// y[n] = conv(x[n]) (+ bias) through the three stages, for images [begin, end) of a thread,
// with u the transformed weights [16, Cv, Dv].
void winograd_images(const float* x, const float* u, const float* bias, float* y, float* own,
                     std::size_t begin, std::size_t end, std::size_t C, std::size_t D,
                     const WindowGeometry& g, const WinogradShape& s) {
  const std::size_t Cv = whole_vectors(C), Dv = whole_vectors(D);
  const std::size_t chunk = tiles_per_chunk(Cv, Dv, s.T);
  float* xt = own;
  float* v = xt + s.hb * s.wb * Cv;
  const std::size_t v_plane = plane_stride(chunk, Cv), m_plane = plane_stride(chunk, Dv);
  float* m = v + kTileValues * v_plane;
  float* yt = m + kTileValues * m_plane;
  const std::size_t in_image = C * g.in_h * g.in_w, P = s.oh * s.ow;
  for (std::size_t n = begin; n < end; ++n) {
    transpose_padded(x + n * in_image, C, g, s, n == begin, xt);
    for (std::size_t t0 = 0; t0 < s.T; t0 += chunk) {
      const std::size_t t1 = std::min(t0 + chunk, s.T);
      transform_input(xt, Cv, s, t0, t1, chunk, v);
      for (std::size_t xi = 0; xi < kTileValues; ++xi) {
        tile_product(v + xi * v_plane, u + xi * Cv * Dv, m + xi * m_plane, t1 - t0, Cv, Dv);
      }
      transform_output(m, Dv, s, t0, t1, chunk, yt);
    }
    transpose_back(yt, bias, D, P, y + n * D * P);
  }
}

// out = the product of `in` (geometry g: g.channels input channels) with D output channels,
// plus bias: the forward pass with w [D, C, 3, 3] as given, or (flipped) the input gradient's
// product with w [C, D, 3, 3] read flipped (transform_weights). Both share the workspace layout:
// U and the kernels' copy first, then each thread's buffers.
void winograd_product(const float* in, const float* weight, bool flipped, const float* bias,
                      float* out, float* workspace, std::size_t batch, std::size_t D,
                      const WindowGeometry& g) {
  const WinogradShape s(g);
  const std::size_t C = g.channels;
  float* u = workspace;
  transform_weights(weight, C, D, flipped, u + kTileValues * whole_vectors(C) * whole_vectors(D),
                    u);
  float* threads = workspace + shared_size(C, D);
  const std::size_t per_thread = per_thread_size(D, g, s);
  parallel_for(batch, [&](std::size_t thread, std::size_t begin, std::size_t end) {
    winograd_images(in, u, bias, out, threads + thread * per_thread, begin, end, C, D, g, s);
  });
}

}  // namespace

std::size_t winograd_workspace_size(std::size_t batch, std::size_t D, const WindowGeometry& g) {
  const WindowGeometry back = backward_geometry(g, D);
  return shared_size(g.channels, D) +
         parallel_chunks(batch) * std::max(per_thread_size(D, g, WinogradShape(g)),
                                           per_thread_size(g.channels, back, WinogradShape(back)));
}

void winograd_forward(const float* x, const float* weight, const float* bias, float* y,
                      float* workspace, std::size_t batch, std::size_t D, const WindowGeometry& g) {
  winograd_product(x, weight, false, bias, y, workspace, batch, D, g);
}

void winograd_backward_data(const float* dy, const float* weight, float* dx, float* workspace,
                            std::size_t batch, std::size_t D, const WindowGeometry& g) {
  winograd_product(dy, weight, true, nullptr, dx, workspace, batch, g.channels,
                   backward_geometry(g, D));
}

}  // namespace cnn::kernels::conv2d_detail
