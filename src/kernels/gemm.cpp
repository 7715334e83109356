// Plain, cache-friendly matrix products. Loop orders keep the innermost loop on contiguous memory
// so the compiler vectorises it; the NT form is a set of dot products whose reduction the simd
// pragma lets the compiler reorder (the order is fixed for a given build, so results are
// deterministic).
#include <cstring>

#include "cnn/kernels.hpp"

namespace cnn::kernels {

void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  for (std::size_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (!accumulate) std::memset(c, 0, N * sizeof(float));
    const float* a = A + i * lda;
    for (std::size_t k = 0; k < K; ++k) {
      const float aik = a[k];
      const float* b = B + k * ldb;
#pragma omp simd
      for (std::size_t j = 0; j < N; ++j) c[j] += aik * b[j];
    }
  }
}

void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  for (std::size_t i = 0; i < M; ++i) {
    const float* a = A + i * lda;
    float* c = C + i * ldc;
    for (std::size_t j = 0; j < N; ++j) {
      const float* b = B + j * ldb;
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (std::size_t k = 0; k < K; ++k) sum += a[k] * b[k];
      c[j] = accumulate ? c[j] + sum : sum;
    }
  }
}

void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  for (std::size_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (!accumulate) std::memset(c, 0, N * sizeof(float));
    for (std::size_t k = 0; k < K; ++k) {
      const float aki = A[k * lda + i];
      const float* b = B + k * ldb;
#pragma omp simd
      for (std::size_t j = 0; j < N; ++j) c[j] += aki * b[j];
    }
  }
}

}  // namespace cnn::kernels
