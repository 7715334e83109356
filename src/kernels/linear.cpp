// Fully connected layer as matrix products; rows of the batch (forward, dx) and rows of the
// weight gradient (dW, db) are split between threads, so no two threads write the same value.
#include "cnn/core/parallel.hpp"
#include "kernels/kernels.hpp"

namespace cnn::kernels {

void linear_forward(const float* x, const float* weight, const float* bias, float* y,
                    std::size_t batch, std::size_t in, std::size_t out) {
  parallel_for(
      batch,
      [&](std::size_t, std::size_t begin, std::size_t end) {
        // y[n,o] = Σ_i x[n,i] · W[o,i] + b[o]
        gemm_nt(end - begin, out, in, x + begin * in, in, weight, in, y + begin * out, out, false);
        for (std::size_t n = begin; n < end; ++n) {
          float* row = y + n * out;
          for (std::size_t o = 0; o < out; ++o) row[o] += bias[o];
        }
      },
      8);
}

void linear_backward(const float* x, const float* weight, const float* dy, float* dweight,
                     float* dbias, float* dx, std::size_t batch, std::size_t in, std::size_t out) {
  parallel_for(
      out,
      [&](std::size_t, std::size_t begin, std::size_t end) {
        // dW[o,i] = Σ_n dy[n,o] · x[n,i] for the rows o in [begin, end)
        gemm_tn(end - begin, in, batch, dy + begin, out, x, in, dweight + begin * in, in, false);
        for (std::size_t o = begin; o < end; ++o) {
          float sum = 0.0f;
          for (std::size_t n = 0; n < batch; ++n) sum += dy[n * out + o];
          dbias[o] = sum;
        }
      },
      16);
  if (dx == nullptr) return;
  parallel_for(
      batch,
      [&](std::size_t, std::size_t begin, std::size_t end) {
        // dx[n,i] = Σ_o dy[n,o] · W[o,i]
        gemm_nn(end - begin, in, out, dy + begin * out, out, weight, in, dx + begin * in, in,
                false);
      },
      8);
}

}  // namespace cnn::kernels
