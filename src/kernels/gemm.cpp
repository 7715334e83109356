// Matrix products for the small shapes of these networks (M and K from 1 to a few hundred).
//
// Each product is cut into register tiles: a tile of C stays in local arrays (registers) while
// the whole K dimension streams through it, so C is loaded and stored once instead of once per k.
// The tile loops have fixed trip counts and simd pragmas, which lets the compiler turn them into
// vector instructions of whatever width the build targets (SSE, AVX2 or AVX-512). Edge tiles use
// the same code with the row count as a template argument, or plain loops for a partial width.
// Every element is summed over k in the same order whatever the thread count, so results are
// deterministic for a given build.
#include <cstring>

#include "cnn/kernels.hpp"

namespace cnn::kernels {

namespace {

// One vector register of floats, as a GCC/Clang vector type: the compiler emits the target's
// instructions (AVX-512, AVX2 or SSE) for +, * and loads. aligned(4) allows unaligned loads.
#if defined(__AVX512F__)
constexpr std::size_t kLanes = 16;
#elif defined(__AVX__)
constexpr std::size_t kLanes = 8;
#else
constexpr std::size_t kLanes = 4;
#endif
using Vec = float __attribute__((vector_size(kLanes * sizeof(float)), aligned(4), may_alias));

inline Vec load(const float* p) {
  return *reinterpret_cast<const Vec*>(p);
}
inline void store(float* p, Vec v) {
  *reinterpret_cast<Vec*>(p) = v;
}
inline Vec broadcast(float x) {
  return Vec{} + x;
}

// Tile of C for the axpy forms (NN, TN): kRows rows by two vectors. 6x2 accumulators, two B
// vectors and one broadcast A value fill 15 of the 16 registers of AVX2 (as in BLIS's kernels).
constexpr std::size_t kRows = 6;
constexpr std::size_t kCols = 2 * kLanes;
// Tile of C for the dot-product form (NT): kDotRows x kDotCols sums of one vector each.
constexpr std::size_t kDotRows = 4;
constexpr std::size_t kDotCols = kLanes == 16 ? 4 : 2;

// A[i, k] of a row-major A (NN) or of the transpose of a row-major A (TN).
template <bool TransposedA>
inline float a_at(const float* A, std::size_t lda, std::size_t i, std::size_t k) {
  return TransposedA ? A[k * lda + i] : A[i * lda + k];
}

// C[0:R, 0:kCols] (+)= Σ_k A[r, k] · B[k, 0:kCols]: the tile stays in registers while k streams.
template <bool TransposedA, std::size_t R>
void axpy_tile(std::size_t K, const float* A, std::size_t lda, const float* B, std::size_t ldb,
               float* C, std::size_t ldc, bool accumulate) {
  Vec sum[R][2] = {};
  for (std::size_t k = 0; k < K; ++k) {
    const Vec b0 = load(B + k * ldb), b1 = load(B + k * ldb + kLanes);
    for (std::size_t r = 0; r < R; ++r) {
      const Vec a = broadcast(a_at<TransposedA>(A, lda, r, k));
      sum[r][0] += a * b0;
      sum[r][1] += a * b1;
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    float* c = C + r * ldc;
    if (accumulate) {
      sum[r][0] += load(c);
      sum[r][1] += load(c + kLanes);
    }
    store(c, sum[r][0]);
    store(c + kLanes, sum[r][1]);
  }
}

// The same for a tile narrower than kCols (the right edge of C).
template <bool TransposedA>
void axpy_edge(std::size_t rows, std::size_t cols, std::size_t K, const float* A, std::size_t lda,
               const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  for (std::size_t r = 0; r < rows; ++r) {
    float sum[kCols] = {};
    for (std::size_t k = 0; k < K; ++k) {
      const float a = a_at<TransposedA>(A, lda, r, k);
      const float* b = B + k * ldb;
      for (std::size_t j = 0; j < cols; ++j) sum[j] += a * b[j];
    }
    float* c = C + r * ldc;
    for (std::size_t j = 0; j < cols; ++j) c[j] = accumulate ? c[j] + sum[j] : sum[j];
  }
}

template <bool TransposedA, std::size_t R>
void axpy_row_block(std::size_t N, std::size_t K, const float* A, std::size_t lda, const float* B,
                    std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  std::size_t j = 0;
  for (; j + kCols <= N; j += kCols) {
    axpy_tile<TransposedA, R>(K, A, lda, B + j, ldb, C + j, ldc, accumulate);
  }
  if (j < N) axpy_edge<TransposedA>(R, N - j, K, A, lda, B + j, ldb, C + j, ldc, accumulate);
}

// C = A·B (TransposedA = false) or Aᵀ·B (true), one block of kRows rows at a time.
template <bool TransposedA>
void gemm_axpy(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
               const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  for (std::size_t i = 0; i < M; i += kRows) {
    // Start of row i of A: column i of the stored matrix when A is transposed.
    const float* a = TransposedA ? A + i : A + i * lda;
    float* c = C + i * ldc;
    switch (M - i < kRows ? M - i : kRows) {
      case 6:
        axpy_row_block<TransposedA, 6>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      case 5:
        axpy_row_block<TransposedA, 5>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      case 4:
        axpy_row_block<TransposedA, 4>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      case 3:
        axpy_row_block<TransposedA, 3>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      case 2:
        axpy_row_block<TransposedA, 2>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      default:
        axpy_row_block<TransposedA, 1>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
    }
  }
}

// C[0:R, 0:S] (+)= A[0:R, :] · B[0:S, :]ᵀ: R·S dot products over K computed together, one vector
// of partial sums each, so every loaded vector of A or B is used S or R times.
template <std::size_t R, std::size_t S>
void dot_tile(std::size_t K, const float* A, std::size_t lda, const float* B, std::size_t ldb,
              float* C, std::size_t ldc, bool accumulate) {
  Vec sum[R][S] = {};
  std::size_t k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    Vec b[S];
    for (std::size_t s = 0; s < S; ++s) b[s] = load(B + s * ldb + k);
    for (std::size_t r = 0; r < R; ++r) {
      const Vec a = load(A + r * lda + k);
      for (std::size_t s = 0; s < S; ++s) sum[r][s] += a * b[s];
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    for (std::size_t s = 0; s < S; ++s) {
      float total = 0.0f;
      for (std::size_t l = 0; l < kLanes; ++l) total += sum[r][s][l];
      for (std::size_t t = k; t < K; ++t) total += A[r * lda + t] * B[s * ldb + t];
      float& c = C[r * ldc + s];
      c = accumulate ? c + total : total;
    }
  }
}

template <std::size_t R>
void dot_row_block(std::size_t N, std::size_t K, const float* A, std::size_t lda, const float* B,
                   std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  std::size_t j = 0;
  for (; j + kDotCols <= N; j += kDotCols) {
    dot_tile<R, kDotCols>(K, A, lda, B + j * ldb, ldb, C + j, ldc, accumulate);
  }
  for (; j < N; ++j) dot_tile<R, 1>(K, A, lda, B + j * ldb, ldb, C + j, ldc, accumulate);
}

}  // namespace

void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  gemm_axpy<false>(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  gemm_axpy<true>(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  for (std::size_t i = 0; i < M; i += kDotRows) {
    const float* a = A + i * lda;
    float* c = C + i * ldc;
    switch (M - i < kDotRows ? M - i : kDotRows) {
      case 4:
        dot_row_block<4>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      case 3:
        dot_row_block<3>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      case 2:
        dot_row_block<2>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
      default:
        dot_row_block<1>(N, K, a, lda, B, ldb, c, ldc, accumulate);
        break;
    }
  }
}

}  // namespace cnn::kernels
