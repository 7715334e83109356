// Matrix products for the small shapes of these networks (M and K from 1 to a few hundred).
//
// NN and TN use the register tiles of tiles.hpp. NT is a set of dot products, computed a few at a
// time so each loaded vector serves several of them. Every element is summed over k in the same
// order whatever the thread count, so results are deterministic for a given build.
#include "kernels/kernels.hpp"
#include "tiles.hpp"

namespace cnn::kernels {

using namespace tiles;

void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  axpy_product<false>(
      M, N, K, A, lda, [=](std::size_t k) { return B + k * ldb; },
      [=](std::size_t i) { return C + i * ldc; }, accumulate);
}

void gemm_tn(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  axpy_product<true>(
      M, N, K, A, lda, [=](std::size_t k) { return B + k * ldb; },
      [=](std::size_t i) { return C + i * ldc; }, accumulate);
}

void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
             const float* B, std::size_t ldb, float* C, std::size_t ldc, bool accumulate) {
  dot_product(
      1, M, N, K, [=](std::size_t, std::size_t i) { return A + i * lda; },
      [=](std::size_t, std::size_t j) { return B + j * ldb; },
      [=](std::size_t i) { return C + i * ldc; }, accumulate);
}

}  // namespace cnn::kernels
