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
// Aᵀ = [1 1 1 0; 0 1 −1 −1]. The input gradient is the same product of dy (padded by 2 − p) with
// the flipped kernels. The weight gradient runs the forward's maps backwards (F(3x3, 2x2)):
//
//   P[ξ, t, d]  = (A·dy_t[d]·Aᵀ)[ξ]                  the 2x2 block of dy at tile t, transformed
//   S[ξ, d, c]  = Σ_n Σ_t P[ξ, t, d]·V[ξ, t, c]       16 matrix products [D, T]·[T, C]
//   dw[d, c]    = Gᵀ·S[·, d, c]·G,   db[d] = Σ dy[·, d, ·, ·]
//
// The channels are in vector lanes throughout (the input transposed
// to positions × channels, the output written positions × channels and transposed back), so the
// transforms are whole-vector additions and the products are the broadcast tiles of tiles.hpp.
// Channel counts are rounded up to whole vectors inside the workspace (Cv, Dv below), the extra
// channels zero: any C and D work, whole vectors of them fastest.
// The sums are not the direct convolution's: each value is the same mathematical sum reached
// through other roundings, within a few float ulps of it for inputs of like magnitude (the
// Conv2DWinograd tests of tests/nn/layers/conv2d_test.cpp check the stated tolerance against the
// design's formulas and the direct kernel).
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

// Asks for the cache lines of p[0, count) into L2 ahead of use.
void prefetch(const float* p, std::size_t count) {
  for (std::size_t i = 0; i < count; i += 16) __builtin_prefetch(p + i, 0, 2);
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

// P[ξ, t − t0, d] = (A·g_t[d]·Aᵀ)[ξ] for the tiles t0 <= t < t1, g_t the 2x2 block of dy at
// tile t in dyt [2·th rows of 2·tw positions, D] (zero past the output plane), kLanes channels at
// a time; A = [1 0; 1 1; 1 −1; 0 −1], so that P is the gradient of the forward's M (y = Aᵀ·M·A).
// p holds `chunk` tiles for each ξ, planes plane_stride apart. Also db[d] += Σ_t P[5, t, d]: P's
// ξ = 5 (row 1, column 1) is the sum of the block, and the tiles cover the plane once.
void transform_gradient(const float* dyt, std::size_t D, const WinogradShape& s, std::size_t t0,
                        std::size_t t1, std::size_t chunk, float* p, float* db) {
  using tiles::Vec;
  const std::size_t row = 2 * s.tw * D, plane = plane_stride(chunk, D);
  for (std::size_t d = 0; d < D; d += tiles::kLanes) {
    Vec block_sums{};
    for (std::size_t t = t0; t < t1; ++t) {
      const std::size_t i = t / s.tw, j = t % s.tw;
      const float* in = dyt + (2 * i) * row + (2 * j) * D + d;
      const Vec g00 = tiles::load(in), g01 = tiles::load(in + D);
      const Vec g10 = tiles::load(in + row), g11 = tiles::load(in + row + D);
      const Vec a[4][2] = {
          {g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}};
      float* out = p + (t - t0) * D + d;
      for (std::size_t r = 0; r < 4; ++r) {
        tiles::store(out + (r * 4 + 0) * plane, a[r][0]);
        tiles::store(out + (r * 4 + 1) * plane, a[r][0] + a[r][1]);
        tiles::store(out + (r * 4 + 2) * plane, a[r][0] - a[r][1]);
        tiles::store(out + (r * 4 + 3) * plane, -a[r][1]);
      }
      block_sums += a[1][0] + a[1][1];
    }
    tiles::store(db + d, tiles::load(db + d) + block_sums);
  }
}

// out[rows, D] (+)= A·u[K, D], D a whole number of V vectors: R x V register tiles (R rows, V
// vectors of columns) with each value of A broadcast and V vectors of u loaded per k. A is read
// from in [.., lda] as stored (kTransposedA false: A[r, k] = in[r·lda + k], the forward's
// tiles × input channels) or transposed (true: A[r, k] = in[k·lda + r], the weight gradient's
// output channels × tiles, read from P's [tiles, channels] layout).
template <bool kTransposedA, std::size_t R, std::size_t V>
void tile_product_rows(const float* in, std::size_t lda, const float* u, float* out,
                       std::size_t rows, std::size_t K, std::size_t D, bool accumulate) {
  for (std::size_t t = 0; t < rows; t += R) {
    const std::size_t height = std::min(R, rows - t);
    for (std::size_t d = 0; d < D; d += V * tiles::kLanes) {
      const auto a = [&](std::size_t r, std::size_t k) {
        return kTransposedA ? in[k * lda + t + r] : in[(t + r) * lda + k];
      };
      const auto b = [&](std::size_t k) { return u + k * D + d; };
      const auto c_row = [&](std::size_t r) { return out + (t + r) * D + d; };
      if (height == R) {
        tiles::axpy_tile<R, V>(K, a, b, c_row, accumulate);
      } else {
        [&]<std::size_t... Q>(std::index_sequence<Q...>) {
          ((height == Q + 1 ? (tiles::axpy_tile<Q + 1, V>(K, a, b, c_row, accumulate), 0) : 0),
           ...);
        }
        (std::make_index_sequence<R - 1>{});
      }
    }
  }
}

// tile_product_rows with the tile height among Rs that covers the rows in the fewest tiles, and
// of those the one whose last tile is fullest: a short last tile runs its multiply-adds at a
// fraction of the pace (`best`'s 25 tiles a plane in tiles of 6 left one of a single row, a fifth
// of the product's time for a twenty-fifth of its work; tiles of 5 fit exactly).
template <bool kTransposedA, std::size_t V, std::size_t... Rs>
void tile_product_fitted(const float* in, std::size_t lda, const float* u, float* out,
                         std::size_t rows, std::size_t K, std::size_t D, bool accumulate) {
  std::size_t height = 0;
  // The weight gradient's rows are channels, whole vectors: a height that divides them leaves no
  // short tile (whose sums GCC kept in memory, zeroed by a memset each call: 6 % of `vgg`'s
  // conv64x64k3p1 weight gradient), the tallest such height.
  if (kTransposedA) {
    for (const std::size_t R : {Rs...}) {
      if (rows % R == 0) height = std::max(height, R);
    }
  }
  if (height == 0) {
    std::size_t fewest = 0, last = 0;
    for (const std::size_t R : {Rs...}) {
      const std::size_t count = (rows + R - 1) / R, fill = rows - (count - 1) * R;
      if (height == 0 || count < fewest || (count == fewest && fill > last)) {
        height = R;
        fewest = count;
        last = fill;
      }
    }
  }
  ((height == Rs ? tile_product_rows<kTransposedA, Rs, V>(in, lda, u, out, rows, K, D, accumulate)
                 : void()),
   ...);
}

// The register shapes: with AVX-512's 32 registers up to 6 x 4 (24 sums, 4 loads and 6 broadcasts
// per 24 multiply-adds), 12 x 2 or 16 x 1; with 16 registers 2 x 4, 6 x 2 or 12 x 1.
template <bool kTransposedA>
void tile_product(const float* in, std::size_t lda, const float* u, float* out, std::size_t rows,
                  std::size_t K, std::size_t D, bool accumulate) {
  const auto fitted = [&]<std::size_t V, std::size_t... Rs>() {
    tile_product_fitted<kTransposedA, V, Rs...>(in, lda, u, out, rows, K, D, accumulate);
  };
  if constexpr (tiles::kLanes == 16) {
    if (D % (4 * tiles::kLanes) == 0) {
      fitted.template operator()<4, 6, 5, 4>();
    } else if (D % (2 * tiles::kLanes) == 0) {
      fitted.template operator()<2, 12, 11, 10, 9, 8>();
    } else {
      fitted.template operator()<1, 16, 14, 12>();
    }
  } else {
    if (D % (4 * tiles::kLanes) == 0) {
      fitted.template operator()<4, 2>();
    } else if (D % (2 * tiles::kLanes) == 0) {
      fitted.template operator()<2, 6, 5, 4>();
    } else {
      fitted.template operator()<1, 12, 10, 8>();
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
    if (n + 1 < end) prefetch(x + (n + 1) * in_image, in_image);
    transpose_padded(x + n * in_image, C, g, s, n == begin, xt);
    for (std::size_t t0 = 0; t0 < s.T; t0 += chunk) {
      const std::size_t t1 = std::min(t0 + chunk, s.T);
      transform_input(xt, Cv, s, t0, t1, chunk, v);
      for (std::size_t xi = 0; xi < kTileValues; ++xi) {
        tile_product<false>(v + xi * v_plane, Cv, u + xi * Cv * Dv, m + xi * m_plane, t1 - t0, Cv,
                            Dv, false);
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

// The weight gradient, per chunk of images: its sums S [16, Dv, Cv] and db [Dv], then the padded
// input [hb·wb, Cv], dy [2·th·2·tw, Dv], V [16, chunk, Cv] and P [16, chunk, Dv] (planes
// plane_stride apart).
std::size_t weight_gradient_sums_size(std::size_t C, std::size_t D) {
  return kTileValues * whole_vectors(C) * whole_vectors(D) + whole_vectors(D);
}
std::size_t weight_gradient_size(std::size_t C, std::size_t D, const WinogradShape& s) {
  const std::size_t Cv = whole_vectors(C), Dv = whole_vectors(D);
  const std::size_t chunk = tiles_per_chunk(Cv, Dv, s.T);
  return weight_gradient_sums_size(C, D) + s.hb * s.wb * Cv + 4 * s.th * s.tw * Dv +
         kTileValues * (plane_stride(chunk, Cv) + plane_stride(chunk, Dv));
}

// S[ξ, d, c] += Σ_t P[ξ, t, d]·V[ξ, t, c] and db[d] += Σ dy[n, d, ·, ·] over images [begin, end),
// into `own` (weight_gradient_size floats, S and db first).
void weight_gradient_images(const float* x, const float* dy, float* own, std::size_t begin,
                            std::size_t end, std::size_t D, const WindowGeometry& g,
                            const WinogradShape& s) {
  const std::size_t C = g.channels, Cv = whole_vectors(C), Dv = whole_vectors(D);
  const std::size_t chunk = tiles_per_chunk(Cv, Dv, s.T);
  const std::size_t v_plane = plane_stride(chunk, Cv), p_plane = plane_stride(chunk, Dv);
  float* sums = own;
  float* db = sums + kTileValues * Cv * Dv;
  float* xt = db + Dv;
  float* dyt = xt + s.hb * s.wb * Cv;
  float* v = dyt + 4 * s.th * s.tw * Dv;
  float* p = v + kTileValues * v_plane;
  std::fill_n(sums, weight_gradient_sums_size(C, D), 0.0f);
  // dy as transpose_padded reads an input: D channels of OH x OW, in rows of 2·tw positions, no
  // padding before; the odd last row and column of an odd plane stay zero.
  WindowGeometry dy_geometry = g;
  dy_geometry.channels = D;
  dy_geometry.in_h = s.oh;
  dy_geometry.in_w = s.ow;
  WinogradShape dy_shape = s;
  dy_shape.hb = 2 * s.th;
  dy_shape.wb = 2 * s.tw;
  dy_shape.pad_h = dy_shape.pad_w = 0;
  const std::size_t in_image = C * g.in_h * g.in_w, out_image = D * s.oh * s.ow;
  for (std::size_t n = begin; n < end; ++n) {
    if (n + 1 < end) {
      prefetch(x + (n + 1) * in_image, in_image);
      prefetch(dy + (n + 1) * out_image, out_image);
    }
    transpose_padded(x + n * in_image, C, g, s, n == begin, xt);
    transpose_padded(dy + n * out_image, D, dy_geometry, dy_shape, n == begin, dyt);
    for (std::size_t t0 = 0; t0 < s.T; t0 += chunk) {
      const std::size_t t1 = std::min(t0 + chunk, s.T);
      transform_input(xt, Cv, s, t0, t1, chunk, v);
      transform_gradient(dyt, Dv, s, t0, t1, chunk, p, db);
      // Rows d, columns c: `best`'s 64 x 32 in tiles of 8 x 2 vectors measured faster than rows
      // c (tiles of 6 x 4 and one short one).
      for (std::size_t xi = 0; xi < kTileValues; ++xi) {
        tile_product<true>(p + xi * p_plane, Dv, v + xi * v_plane, sums + xi * Cv * Dv, Dv, t1 - t0,
                           Cv, true);
      }
    }
  }
}

// dweight[d, c] = Gᵀ·S[·, d, c]·G for c < C, d < D (Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]: the
// gradient of the forward's U = G·w·Gᵀ), kLanes input channels at a time.
void transform_weight_gradient(const float* sums, std::size_t C, std::size_t D, float* dweight) {
  using tiles::Vec;
  const std::size_t Cv = whole_vectors(C), Dv = whole_vectors(D);
  const Vec half = tiles::broadcast(0.5f);
  for (std::size_t d = 0; d < D; ++d) {
    for (std::size_t c = 0; c < C; c += tiles::kLanes) {
      Vec gs[3][4];  // Gᵀ·S
      for (std::size_t q = 0; q < 4; ++q) {
        const Vec s0 = tiles::load(sums + ((0 * 4 + q) * Dv + d) * Cv + c);
        const Vec s1 = tiles::load(sums + ((1 * 4 + q) * Dv + d) * Cv + c);
        const Vec s2 = tiles::load(sums + ((2 * 4 + q) * Dv + d) * Cv + c);
        const Vec s3 = tiles::load(sums + ((3 * 4 + q) * Dv + d) * Cv + c);
        gs[0][q] = s0 + half * (s1 + s2);
        gs[1][q] = half * (s1 - s2);
        gs[2][q] = half * (s1 + s2) + s3;
      }
      Vec w[9];
      for (std::size_t m = 0; m < 3; ++m) {
        w[m * 3 + 0] = gs[m][0] + half * (gs[m][1] + gs[m][2]);
        w[m * 3 + 1] = half * (gs[m][1] - gs[m][2]);
        w[m * 3 + 2] = half * (gs[m][1] + gs[m][2]) + gs[m][3];
      }
      for (std::size_t l = 0; l < std::min(tiles::kLanes, C - c); ++l)
        for (std::size_t mn = 0; mn < 9; ++mn) dweight[(d * C + c + l) * 9 + mn] = w[mn][l];
    }
  }
}

}  // namespace

std::size_t winograd_workspace_size(std::size_t batch, std::size_t D, const WindowGeometry& g) {
  const WindowGeometry back = backward_geometry(g, D);
  const WinogradShape s(g);
  return shared_size(g.channels, D) +
         parallel_chunks(batch) * std::max({per_thread_size(D, g, s),
                                            per_thread_size(g.channels, back, WinogradShape(back)),
                                            weight_gradient_size(g.channels, D, s)});
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

void winograd_backward_weights(const float* x, const float* dy, float* dweight, float* dbias,
                               float* workspace, std::size_t batch, std::size_t D,
                               const WindowGeometry& g) {
  const WinogradShape s(g);
  const std::size_t C = g.channels, per_chunk = weight_gradient_size(C, D, s);
  const std::size_t chunks = parallel_chunks(batch);
  parallel_for(batch, [&](std::size_t chunk, std::size_t begin, std::size_t end) {
    weight_gradient_images(x, dy, workspace + chunk * per_chunk, begin, end, D, g, s);
  });
  // The chunks' sums in chunk order (a thread count always gives the same bits), into the first.
  const std::size_t sums = weight_gradient_sums_size(C, D);
  for (std::size_t k = 1; k < chunks; ++k) {
    const float* partial = workspace + k * per_chunk;
    for (std::size_t i = 0; i < sums; i += tiles::kLanes) {
      tiles::store(workspace + i, tiles::load(workspace + i) + tiles::load(partial + i));
    }
  }
  transform_weight_gradient(workspace, C, D, dweight);
  std::copy_n(workspace + sums - whole_vectors(D), D, dbias);
}

}  // namespace cnn::kernels::conv2d_detail
