#include <gtest/gtest.h>

#include <vector>

#include "cnn/core/rng.hpp"
#include "kernels/kernels.hpp"

namespace cnn {
namespace {

std::vector<float> random_values(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.uniform() * 2 - 1);
  return v;
}

enum class Form { NN, NT, TN };

// C[M,N] (+)= op(A)·op(B) by the definition, in double.
void reference(Form form, std::size_t M, std::size_t N, std::size_t K, const float* A,
               std::size_t lda, const float* B, std::size_t ldb, float* C, std::size_t ldc,
               bool accumulate) {
  for (std::size_t i = 0; i < M; ++i) {
    for (std::size_t j = 0; j < N; ++j) {
      double sum = accumulate ? C[i * ldc + j] : 0.0;
      for (std::size_t k = 0; k < K; ++k) {
        const float a = form == Form::TN ? A[k * lda + i] : A[i * lda + k];
        const float b = form == Form::NT ? B[j * ldb + k] : B[k * ldb + j];
        sum += double{a} * b;
      }
      C[i * ldc + j] = static_cast<float>(sum);
    }
  }
}

TEST(Gemm, AllFormsMatchTheDefinitionOnEdgeShapes) {
  // Sizes around the tile widths (4 rows, 16 columns, 8 or 16 lanes) and the networks' shapes.
  const std::size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 25, 33, 84};
  int checked = 0;
  for (Form form : {Form::NN, Form::NT, Form::TN}) {
    for (std::size_t M : sizes) {
      for (std::size_t N : sizes) {
        for (std::size_t K : {std::size_t{1}, std::size_t{5}, std::size_t{17}, std::size_t{40}}) {
          for (bool accumulate : {false, true}) {
            // Leading dimensions larger than the rows, as in sub-matrices.
            const std::size_t lda = (form == Form::TN ? M : K) + 3;
            const std::size_t ldb = (form == Form::NT ? K : N) + 2;
            const std::size_t ldc = N + 1;
            const auto A = random_values((form == Form::TN ? K : M) * lda, M * 31 + K);
            const auto B = random_values((form == Form::NT ? N : K) * ldb, N * 17 + K);
            auto C = random_values(M * ldc, M + N);
            auto expected = C;
            reference(form, M, N, K, A.data(), lda, B.data(), ldb, expected.data(), ldc,
                      accumulate);
            switch (form) {
              case Form::NN:
                kernels::gemm_nn(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, accumulate);
                break;
              case Form::NT:
                kernels::gemm_nt(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, accumulate);
                break;
              case Form::TN:
                kernels::gemm_tn(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, accumulate);
                break;
            }
            for (std::size_t i = 0; i < M; ++i) {
              for (std::size_t j = 0; j < ldc; ++j) {
                // Columns past N (j == N here) are outside C and must be left alone.
                ASSERT_NEAR(C[i * ldc + j], expected[i * ldc + j], 1e-4f)
                    << "form " << int(form) << " M " << M << " N " << N << " K " << K
                    << " accumulate " << accumulate << " at " << i << "," << j;
              }
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 3 * 13 * 13 * 4 * 2);
}

}  // namespace
}  // namespace cnn
