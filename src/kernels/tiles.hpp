// Register tiles shared by the matrix products (gemm.cpp) and the convolution (conv2d.cpp).
//
// A tile of C stays in vector registers while the whole K dimension streams through it, so C is
// loaded and stored once instead of once per k. Rows of B and of C are reached through callables
// (k -> const float*, r -> float*), so that the same tiles serve a plain row-major matrix and the
// shifted rows of an image that a convolution reads (no im2col copy). Vec is a GCC/Clang vector
// type: the compiler emits the target's instructions (AVX-512, AVX2 or SSE).
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace cnn::kernels::tiles {

#if defined(__AVX512F__)
constexpr std::size_t kLanes = 16;
#elif defined(__AVX__)
constexpr std::size_t kLanes = 8;
#else
constexpr std::size_t kLanes = 4;
#endif
// aligned(4) allows unaligned loads and stores; may_alias lets it read float arrays.
using Vec = float __attribute__((vector_size(kLanes * sizeof(float)), aligned(4), may_alias));

inline Vec load(const float* p) {
  return *reinterpret_cast<const Vec*>(p);
}
inline void store(float* p, Vec v) {
  *reinterpret_cast<Vec*>(p) = v;
}
// x − (+0) is x for every x, −0 included, so the compiler drops the subtraction and emits a
// single broadcast (the obvious Vec{} + x is not an identity for x = −0, and costs a scalar add
// per broadcast in the inner loops).
inline Vec broadcast(float x) {
  return x - Vec{};
}
// v itself, but the compiler must hold it in a register: it can no longer fold the load that
// made it into each multiply-add that uses it. In the dot-product tiles GCC otherwise loads a
// row of B once for every row of A it meets (R·S + R loads per R·S multiply-adds, not R + S),
// and the loads, not the multiply-adds, set the pace.
inline Vec in_register(Vec v) {
#if defined(__x86_64__)
  __asm__("" : "+v"(v));
#endif
  return v;
}

// The first n (< kLanes) floats at p, zeros in the other lanes; and the first n lanes of v stored
// at p. Neither touches memory past p + n: masked loads and stores leave the other lanes' addresses
// alone (they do not fault there), so a row's last partial vector needs no scalar loop and no
// slack after the row.
#if !defined(__AVX512F__) && defined(__AVX2__)
// All ones in lanes l < n, the form AVX2's masked loads and stores take.
inline __m256i first_lanes_mask(std::size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif
inline Vec load_first(const float* p, std::size_t n) {
#if defined(__AVX512F__)
  return reinterpret_cast<Vec>(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p));
#elif defined(__AVX2__)
  return reinterpret_cast<Vec>(_mm256_maskload_ps(p, first_lanes_mask(n)));
#else
  Vec v = {};
  for (std::size_t l = 0; l < n; ++l) v[l] = p[l];
  return v;
#endif
}
inline void store_first(float* p, Vec v, std::size_t n) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), reinterpret_cast<__m512>(v));
#elif defined(__AVX2__)
  _mm256_maskstore_ps(p, first_lanes_mask(n), reinterpret_cast<__m256>(v));
#else
  for (std::size_t l = 0; l < n; ++l) p[l] = v[l];
#endif
}

inline float sum_lanes(Vec v) {
  float total = 0.0f;
  for (std::size_t l = 0; l < kLanes; ++l) total += v[l];
  return total;
}

// One step of transposing the kLanes x kLanes matrix whose rows are v[0 .. kLanes): swaps the
// off-diagonal B x B blocks of each 2B x 2B block. The steps B = 1, 2, 4, ... kLanes/2 together
// leave the transpose in v.
template <std::size_t B, std::size_t... J>
inline void transpose_step(Vec* v, std::index_sequence<J...>) {
  constexpr int L = static_cast<int>(kLanes), b = static_cast<int>(B);
  for (std::size_t i = 0; i < kLanes; ++i) {
    if ((i & B) != 0) continue;
    const Vec upper = v[i], lower = v[i + B];
    v[i] = __builtin_shufflevector(
        upper, lower, ((J & B) == 0 ? static_cast<int>(J) : L + static_cast<int>(J) - b)...);
    v[i + B] = __builtin_shufflevector(
        upper, lower, ((J & B) == 0 ? static_cast<int>(J) + b : L + static_cast<int>(J))...);
  }
}

// The kLanes x kLanes matrix whose rows are v[0 .. kLanes), transposed in place:
// kLanes·log2(kLanes) shuffles.
inline void transpose(Vec* v) {
  constexpr auto lanes = std::make_index_sequence<kLanes>{};
  transpose_step<1>(v, lanes);
  if constexpr (kLanes >= 4) transpose_step<2>(v, lanes);
  if constexpr (kLanes >= 8) transpose_step<4>(v, lanes);
  if constexpr (kLanes >= 16) transpose_step<8>(v, lanes);
}

// Lane l of the result is sum_lanes(v[l]) bit for bit, for all kLanes vectors at once: after a
// transpose, vector l holds lane l of every input, and adding them in lane order does each
// input's additions in sum_lanes's order (from +0), lane by lane. kLanes·log2(kLanes) shuffles
// and kLanes adds instead of kLanes² scalar extracts and adds. v is overwritten.
inline Vec sum_lanes_of(Vec* v) {
  transpose(v);
  Vec total{};
  for (std::size_t l = 0; l < kLanes; ++l) total += v[l];
  return total;
}

// Tile of C: kRows rows by two vectors. 6x2 accumulators, two B vectors and one broadcast A value
// fill 15 of the 16 vector registers of AVX2 (as in BLIS's kernels); AVX-512 has 32, and 8 rows
// fit the convolutions' channel counts (multiples of 8: 16, 32, 64) without a short last tile.
constexpr std::size_t kRows = kLanes == 16 ? 8 : 6;
constexpr std::size_t kCols = 2 * kLanes;

// C[r, 0:V·kLanes] (+)= Σ_k A[r, k] · B[k, 0:V·kLanes] for r < R, where a(r, k) gives A[r, k]:
// R x V accumulators (kCols wide, V = 2, unless a short tile takes more columns).
template <std::size_t R, std::size_t V = 2, class AValue, class BRow, class CRow>
inline void axpy_tile(std::size_t K, AValue a, BRow b_row, CRow c_row, bool accumulate) {
  Vec sum[R][V] = {};
  for (std::size_t k = 0; k < K; ++k) {
    const float* b = b_row(k);
    Vec bv[V];
    for (std::size_t v = 0; v < V; ++v) bv[v] = load(b + v * kLanes);
    for (std::size_t r = 0; r < R; ++r) {
      const Vec ar = broadcast(a(r, k));
      for (std::size_t v = 0; v < V; ++v) sum[r][v] += ar * bv[v];
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float* c = c_row(r);
    for (std::size_t v = 0; v < V; ++v) {
      if (accumulate) sum[r][v] += load(c + v * kLanes);
      store(c + v * kLanes, sum[r][v]);
    }
  }
}

// C[r, 0:kLanes] (+)= Σ_k A[r, k] · B[k, 0:kLanes] for r < R: a one-vector tile, for a right
// edge of C at least one vector wide.
template <std::size_t R, class AValue, class BRow, class CRow>
inline void axpy_tile1(std::size_t K, AValue a, BRow b_row, CRow c_row, bool accumulate) {
  Vec sum[R] = {};
  for (std::size_t k = 0; k < K; ++k) {
    const Vec b = load(b_row(k));
    for (std::size_t r = 0; r < R; ++r) sum[r] += broadcast(a(r, k)) * b;
  }
  for (std::size_t r = 0; r < R; ++r) {
    float* c = c_row(r);
    if (accumulate) sum[r] += load(c);
    store(c, sum[r]);
  }
}

// The same for the last V·kLanes − kLanes + cols columns (0 < cols < kLanes): V − 1 whole
// vectors and one of `cols` lanes, through masked loads and stores. The same multiply-adds in the
// same order as whole vectors, so the bits are those of whole vectors (a scalar loop here took
// most of a convolution's time when its rows were a few floats longer than a multiple of the
// vector). With V = 2 a tail of one vector and a bit shares each broadcast of A between both
// (`best`'s conv32x64k3: rows of 118 = 96 + 22).
// The r loops are unrolled by pragma: left to GCC's later unrolling, the sums stayed an array in
// memory, and with the masked load in the loop GCC stored all R of them to the stack on every k
// (the 6-column edge of conv32x64k3's rows took 27 % of its forward pass, the 16-column vector
// beside it 11 %). Inlined into the row block always, which measured faster than GCC's choice.
template <std::size_t R, std::size_t V, class AValue, class BRow, class CRow>
[[gnu::always_inline]] inline void axpy_edge(std::size_t cols, std::size_t K, AValue a, BRow b_row,
                                             CRow c_row, bool accumulate) {
  constexpr std::size_t last = V - 1;
  Vec sum[R][V] = {};
  for (std::size_t k = 0; k < K; ++k) {
    const float* b = b_row(k);
    Vec bv[V];
    for (std::size_t v = 0; v < last; ++v) bv[v] = load(b + v * kLanes);
    bv[last] = load_first(b + last * kLanes, cols);
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r) {
      const Vec ar = broadcast(a(r, k));
      for (std::size_t v = 0; v < V; ++v) sum[r][v] += ar * bv[v];
    }
  }
#pragma GCC unroll 16
  for (std::size_t r = 0; r < R; ++r) {
    float* c = c_row(r);
    for (std::size_t v = 0; v < last; ++v) {
      if (accumulate) sum[r][v] += load(c + v * kLanes);
      store(c + v * kLanes, sum[r][v]);
    }
    if (accumulate) sum[r][last] += load_first(c + last * kLanes, cols);
    store_first(c + last * kLanes, sum[r][last], cols);
  }
}

template <std::size_t R, class AValue, class BRow, class CRow>
inline void axpy_row_block(std::size_t N, std::size_t K, AValue a, BRow b_row, CRow c_row,
                           bool accumulate) {
  std::size_t j = 0;
  // Where the tile writes C, wider tiles where the registers allow: four vectors for a tile of
  // few rows (the seed network's 3 filters), so that it keeps enough sums in flight to hide the
  // multiply-adds' latency and each broadcast serves four of them; with AVX-512's 32 registers,
  // three for up to 8 rows (24 sums, 3 loads and 8 broadcasts per 24 multiply-adds instead of
  // 2 and 8 per 16; LeNet-5 conv6x16k5 forward 252 → 237 µs), and rows whose last columns are
  // more than two vectors take them as one three-vector edge. Column blocks change no sum's
  // order. Where the tile adds into C, as the convolution's dx adds into rows of itself a few
  // floats apart, the wider tile lost more to its stores than it gained (LeNet-5 conv6x16k5
  // backward 576 → 719 µs with four vectors), so those keep two.
  constexpr std::size_t kWideVectors = kLanes == 16 ? (R <= 4 ? 4 : 3) : (R <= 2 ? 4 : 2);
  // Rows of B and C from column j on (j advances below).
  const auto b_at = [&](std::size_t k) { return b_row(k) + j; };
  const auto c_at = [&](std::size_t r) { return c_row(r) + j; };
  for (; !accumulate && j + kWideVectors * kLanes <= N; j += kWideVectors * kLanes) {
    axpy_tile<R, kWideVectors>(K, a, b_at, c_at, accumulate);
  }
  if constexpr (kWideVectors == 3) {
    if (!accumulate && N - j > kCols && (N - j) % kLanes != 0) {
      axpy_edge<R, 3>(N - j - kCols, K, a, b_at, c_at, accumulate);
      return;
    }
  }
  for (; j + kCols <= N; j += kCols) axpy_tile<R>(K, a, b_at, c_at, accumulate);
  if (N - j > kLanes && (N - j) % kLanes != 0) {
    axpy_edge<R, 2>(N - j - kLanes, K, a, b_at, c_at, accumulate);
    return;
  }
  if (j + kLanes <= N) {
    axpy_tile1<R>(K, a, b_at, c_at, accumulate);
    j += kLanes;
  }
  if (j < N) axpy_edge<R, 1>(N - j, K, a, b_at, c_at, accumulate);
}

// C[M,N] (+)= A·B, where a(i, k) gives A[i, k], row k of B starts at b_row(k) and row i of C at
// c_row(i); kRows rows of C at a time.
template <class AValue, class BRow, class CRow>
void axpy_product(std::size_t M, std::size_t N, std::size_t K, AValue a, BRow b_row, CRow c_row,
                  bool accumulate) {
  for (std::size_t i = 0; i < M; i += kRows) {
    const auto a_block = [&](std::size_t r, std::size_t k) { return a(i + r, k); };
    const auto c = [&](std::size_t r) { return c_row(i + r); };
    switch (M - i < kRows ? M - i : kRows) {
      case 8:
        if constexpr (kRows >= 8) axpy_row_block<8>(N, K, a_block, b_row, c, accumulate);
        break;
      case 7:
        if constexpr (kRows >= 7) axpy_row_block<7>(N, K, a_block, b_row, c, accumulate);
        break;
      case 6:
        axpy_row_block<6>(N, K, a_block, b_row, c, accumulate);
        break;
      case 5:
        axpy_row_block<5>(N, K, a_block, b_row, c, accumulate);
        break;
      case 4:
        axpy_row_block<4>(N, K, a_block, b_row, c, accumulate);
        break;
      case 3:
        axpy_row_block<3>(N, K, a_block, b_row, c, accumulate);
        break;
      case 2:
        axpy_row_block<2>(N, K, a_block, b_row, c, accumulate);
        break;
      default:
        axpy_row_block<1>(N, K, a_block, b_row, c, accumulate);
        break;
    }
  }
}

// The same with A a row-major matrix (TransposedA = false: A is [M,K], A[i,k] = A[i·lda + k]) or
// the transpose of one (true: A is stored [K,M], A[i,k] = A[k·lda + i]).
template <bool TransposedA, class BRow, class CRow>
void axpy_product(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
                  BRow b_row, CRow c_row, bool accumulate) {
  if constexpr (TransposedA) {
    axpy_product(
        M, N, K, [=](std::size_t i, std::size_t k) { return A[k * lda + i]; }, b_row, c_row,
        accumulate);
  } else {
    axpy_product(
        M, N, K, [=](std::size_t i, std::size_t k) { return A[i * lda + k]; }, b_row, c_row,
        accumulate);
  }
}

// Tile of C for the dot-product form (A·Bᵀ): kDotRows x kDotCols sums of one vector each.
constexpr std::size_t kDotRows = 4;
// 4x4 sums need 16 of AVX-512's 32 registers; AVX2 and SSE have 16, so 4x2.
constexpr std::size_t kDotCols = kLanes == 16 ? 4 : 2;

// C[r, s] (+)= Σ_g Σ_k A_g[r, k] · B_g[s, k] for r < R, s < S: R·S dot products over K computed
// together, one vector of partial sums each, so every loaded vector of A or B serves S or R of
// them. The dot products may run over several segments g (say one per image of a batch), each K
// long, whose sums are added before the one horizontal reduction at the end; a_row(g, r) and
// b_row(g, s) give the rows of segment g.
template <std::size_t R, std::size_t S, class ARow, class BRow, class CRow>
inline void dot_tile(std::size_t segments, std::size_t K, ARow a_row, BRow b_row, CRow c_row,
                     bool accumulate) {
  Vec sum[R][S] = {};
  for (std::size_t g = 0; g < segments; ++g) {
    // The rows' start pointers, fetched once per segment rather than left for the compiler to
    // hoist out of the k loop.
    const float* a_rows[R];
    const float* b_rows[S];
    for (std::size_t r = 0; r < R; ++r) a_rows[r] = a_row(g, r);
    for (std::size_t s = 0; s < S; ++s) b_rows[s] = b_row(g, s);
    std::size_t k = 0;
    for (; k + kLanes <= K; k += kLanes) {
      Vec b[S];
      for (std::size_t s = 0; s < S; ++s) b[s] = in_register(load(b_rows[s] + k));
      for (std::size_t r = 0; r < R; ++r) {
        const Vec a = in_register(load(a_rows[r] + k));
        for (std::size_t s = 0; s < S; ++s) sum[r][s] += a * b[s];
      }
    }
    if (k < K) {
      // The last K mod kLanes values through masked loads (zeros in the other lanes), in the
      // same vectors of partial sums: a scalar loop here cost as much as the vector part when
      // rows were a little longer than a multiple of the vector.
      const std::size_t rest = K - k;
      Vec b[S];
      for (std::size_t s = 0; s < S; ++s) b[s] = load_first(b_rows[s] + k, rest);
      for (std::size_t r = 0; r < R; ++r) {
        const Vec a = load_first(a_rows[r] + k, rest);
        for (std::size_t s = 0; s < S; ++s) sum[r][s] += a * b[s];
      }
    }
  }
  if constexpr (2 * R * S < kLanes) {
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t s = 0; s < S; ++s) {
        const float total = sum_lanes(sum[r][s]);
        float& c = c_row(r)[s];
        c = accumulate ? c + total : total;
      }
    }
  } else {
    // The R·S horizontal sums kLanes at a time (zeros filling a last group), through a transpose:
    // with K a few hundred long, the scalar reductions were as many instructions as the products.
    constexpr std::size_t count = R * S;
    for (std::size_t first = 0; first < count; first += kLanes) {
      Vec group[kLanes];
      for (std::size_t l = 0; l < kLanes; ++l) {
        group[l] = first + l < count ? sum[(first + l) / S][(first + l) % S] : Vec{};
      }
      const Vec totals = sum_lanes_of(group);
      for (std::size_t l = 0; l < kLanes && first + l < count; ++l) {
        float& c = c_row((first + l) / S)[(first + l) % S];
        c = accumulate ? c + totals[l] : totals[l];
      }
    }
  }
}

// A dot_tile `cols` columns wide, Least < cols <= S.
template <std::size_t R, std::size_t S, std::size_t Least, class ARow, class BRow, class CRow>
inline void dot_tile_cols(std::size_t cols, std::size_t segments, std::size_t K, ARow a_row,
                          BRow b_row, CRow c_row, bool accumulate) {
  if constexpr (S > Least + 1) {
    if (cols < S) {
      dot_tile_cols<R, S - 1, Least>(cols, segments, K, a_row, b_row, c_row, accumulate);
      return;
    }
  }
  dot_tile<R, S>(segments, K, a_row, b_row, c_row, accumulate);
}

template <std::size_t R, class ARow, class BRow, class CRow>
inline void dot_row_block(std::size_t segments, std::size_t N, std::size_t K, ARow a_row,
                          BRow b_row, CRow c_row, bool accumulate) {
  std::size_t j = 0;
  // With AVX-512's 32 registers, tiles of 3 rows or fewer take 8 columns (24 sums), so that each
  // loaded row of A serves 8 of them: the one-channel first layers' weight gradients (3 or 6
  // filters) are such tiles. A tile's shape changes no sum's order, so the bits stay the same.
  constexpr std::size_t kWide = kLanes == 16 && R <= 3 ? 8 : kDotCols;
  // A last column or two join the tile before them where its R·S sums, S rows of B and a row of A
  // still fit AVX-512's registers, rather than make a tile of their own with one row of B per R
  // sums (LeNet-5 conv1x6k5p2's weight gradient: 25 columns as 4 + ... + 4 + 5 and 8 + 8 + 9,
  // where the 25th column's tiles took 5 % of it).
  constexpr std::size_t kMerged =
      kLanes == 16 ? std::min<std::size_t>(kWide + 2, 31 / (R + 1)) : kWide;
  const auto b_at = [&](std::size_t g, std::size_t s) { return b_row(g, j + s); };
  const auto c_at = [&](std::size_t r) { return c_row(r) + j; };
  for (; j + kWide <= N; j += kWide) {
    if constexpr (kMerged > kWide) {
      if (N - j > kWide && N - j <= kMerged) {
        dot_tile_cols<R, kMerged, kWide>(N - j, segments, K, a_row, b_at, c_at, accumulate);
        return;
      }
    }
    dot_tile<R, kWide>(segments, K, a_row, b_at, c_at, accumulate);
  }
  for (; j + kDotCols <= N; j += kDotCols) {
    dot_tile<R, kDotCols>(
        segments, K, a_row, [&](std::size_t g, std::size_t s) { return b_row(g, j + s); },
        [&](std::size_t r) { return c_row(r) + j; }, accumulate);
  }
  for (; j < N; ++j) {
    dot_tile<R, 1>(
        segments, K, a_row, [&](std::size_t g, std::size_t) { return b_row(g, j); },
        [&](std::size_t r) { return c_row(r) + j; }, accumulate);
  }
}

// C[M,N] (+)= Σ_g A_g·B_gᵀ where row i of A_g starts at a_row(g, i), row j of B_g at b_row(g, j)
// (all K long) and row i of C at c_row(i); g runs over `segments` (1 for a plain A·Bᵀ).
template <class ARow, class BRow, class CRow>
void dot_product(std::size_t segments, std::size_t M, std::size_t N, std::size_t K, ARow a_row,
                 BRow b_row, CRow c_row, bool accumulate) {
  for (std::size_t i = 0; i < M; i += kDotRows) {
    const auto a = [&](std::size_t g, std::size_t r) { return a_row(g, i + r); };
    const auto c = [&](std::size_t r) { return c_row(i + r); };
    switch (M - i < kDotRows ? M - i : kDotRows) {
      case 4:
        dot_row_block<4>(segments, N, K, a, b_row, c, accumulate);
        break;
      case 3:
        dot_row_block<3>(segments, N, K, a, b_row, c, accumulate);
        break;
      case 2:
        dot_row_block<2>(segments, N, K, a, b_row, c, accumulate);
        break;
      default:
        dot_row_block<1>(segments, N, K, a, b_row, c, accumulate);
        break;
    }
  }
}

}  // namespace cnn::kernels::tiles
